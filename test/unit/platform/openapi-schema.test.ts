import { expect } from 'chai';
import Joi from 'joi';
import { checkedByService, documentedBy, openApiSchema, pathParameters, queryParameters, readOnlyAttribute, requestBody } from '../../../src/platform/openapi-schema.js';

describe('OpenAPI schemas from joi', () => {
  it('when a field is allowed or forbidden by another field, then the schema shows what it accepts and the description says when', () => {
    const s = Joi.object({
      type: Joi.string().valid('a', 'b').required(),
      options: Joi.any().description('Only for type a').when('type', { is: 'a', then: Joi.array().items(Joi.string()).min(1).required(), otherwise: Joi.forbidden() }),
    });
    expect(openApiSchema(s)).to.deep.equal({
      type: 'object',
      properties: {
        type: { type: 'string', enum: ['a', 'b'] },
        options: { description: 'Only for type a', type: 'array', minItems: 1, items: { type: 'string' } },
      },
      required: ['type'],
      additionalProperties: false,
    });
  });

  it('when a value is documented by a component, then the schema is a $ref that keeps its description', () => {
    const s = Joi.object({ rule: documentedBy(Joi.any(), 'RuleDocument').description('The rule').required() });
    expect(openApiSchema(s).properties).to.deep.equal({ rule: { $ref: '#/components/schemas/RuleDocument', description: 'The rule' } });
  });

  it('when a body is checked in full by the service, then the docs show the full shape while the route checks only the loose one', () => {
    const full = Joi.object({ email: Joi.string().required() });
    const loose = checkedByService(Joi.object().unknown(true), full);
    expect(loose.validate({ anything: 1 }).error).to.equal(undefined);
    expect(openApiSchema(loose)).to.deep.equal(openApiSchema(full));
    expect(requestBody(loose).required, 'the full shape refuses an empty body').to.equal(true);
  });

  it('when an empty body passes, then the request body is optional', () => {
    expect(requestBody(Joi.object({ confirm: Joi.boolean().default(false) }), { example: { confirm: true } })).to.deep.equal({
      required: false,
      content: { 'application/json': { schema: { type: 'object', properties: { confirm: { type: 'boolean', default: false } }, additionalProperties: false }, example: { confirm: true } } },
    });
  });

  it('when a read-only attribute is read, then it is marked readOnly and described, with no type of its own', () => {
    expect(openApiSchema(readOnlyAttribute())).to.deep.equal({ description: 'Read-only: accepted and ignored, so that a GET answer can be sent back', readOnly: true });
  });

  it('when a query accepts keys by pattern, then they are one form-exploded object parameter next to the named ones', () => {
    const q = Joi.object({ limit: Joi.number().integer().min(1), email: Joi.string().required() }).pattern(/^field\.[a-z]+$/, Joi.string()).description('field.<key>');
    expect(queryParameters(q)).to.deep.equal([
      { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1 } },
      { name: 'email', in: 'query', required: true, schema: { type: 'string' } },
      { name: 'filters', in: 'query', style: 'form', explode: true, description: 'field.<key>', schema: { type: 'object', patternProperties: { '^field\\.[a-z]+$': { type: 'string' } }, additionalProperties: false } },
    ]);
  });

  it('when path parameters are read, then each is required, with its description and the example given', () => {
    expect(pathParameters(Joi.object({ id: Joi.string().pattern(/^g_\d+$/).required().description('The id') }), { id: 'g_1' })).to.deep.equal([
      { name: 'id', in: 'path', required: true, description: 'The id', schema: { type: 'string', description: 'The id', pattern: '^g_\\d+$' }, example: 'g_1' },
    ]);
  });
});
