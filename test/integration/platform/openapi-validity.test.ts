// The served /openapi.json is a valid OpenAPI 3.1 document for two independent validators, and shows a rule's
// conditions down to the leaf.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { checkOpenApi } from '../../../tools/openapi-check.js';

describe('OpenAPI description: validity', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService('openapivalid');
  });
  after(async () => t.stop());

  it('when /openapi.json is checked by swagger-parser and redocly lint, then neither reports an error', async () => {
    const doc = (await t.api.get('/openapi.json').expect(200)).body as unknown;
    const { errors } = await checkOpenApi(doc);
    expect(errors, errors.join('\n')).to.deep.equal([]);
  }).timeout(60_000);

  it("when the rule document's schema is read, then its references resolve inside the document and the leaf condition is shown", async () => {
    const doc = (await t.api.get('/openapi.json').expect(200)).body as { components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> } };
    const text = JSON.stringify(doc);
    expect(text).to.not.contain('#/definitions/');
    for (const ref of new Set(text.match(/#\/components\/schemas\/[A-Za-z]+/g) ?? [])) expect(doc.components.schemas[ref.split('/').pop()!], ref).to.be.an('object');
    const leaf = doc.components.schemas.RuleLeafCondition!;
    expect(Object.keys(leaf.properties ?? {})).to.include.members(['fact', 'operator', 'value', 'params', 'path']);
    expect(leaf.required).to.deep.equal(['fact', 'operator', 'value']);
    expect(JSON.stringify(doc.components.schemas.RuleDocument)).to.contain('#/components/schemas/RuleBooleanCondition');
  });
});
