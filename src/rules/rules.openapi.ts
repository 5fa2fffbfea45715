// The rules' part of the OpenAPI description (merged by src/openapi.ts), and the rule document's schema placed
// where an OpenAPI document can reference it.
import { openApiSchema, requestBody, type JsonSchema } from '../platform/openapi-schema.js';
import { ruleSchema } from './catalogue.js';
import { ruleBodySchema, rulePreviewBodySchema, ruleValidateBodySchema } from './rule-body.schema.js';

/**
 * A rule that is valid on any directory, even an empty one (a course that does not exist yet is only a warning),
 * so that "Try it out" works first time: learners, not contractors, who have not completed DRV-101.
 */
export const ruleExample = {
  conditions: {
    all: [
      { fact: 'user', path: '$.type', operator: 'equal', value: 'learner' },
      { not: { fact: 'email', operator: 'endsWith', value: '@contractor.example.com' } },
      { any: [{ fact: 'enrollment', params: { course: 'DRV-101' }, operator: 'exists', value: false }, { fact: 'enrollment', params: { course: 'DRV-101' }, path: '$.status', operator: 'notEqual', value: 'completed' }] },
    ],
  },
};

const componentName = (definition: string) => `Rule${definition[0]!.toUpperCase()}${definition.slice(1)}`;

/**
 * rules/rule.schema.json is a draft-07 document whose parts live under `definitions` and refer to each other as
 * `#/definitions/<name>`. Inside an OpenAPI document those pointers resolve against the document's root, so each
 * definition becomes a component of its own (`Rule<Name>`) and each reference is rewritten to it. `$schema` and
 * `$id` go: the components are JSON Schema 2020-12, OpenAPI 3.1's dialect, and resolve against the document.
 */
export function ruleComponents(): Record<string, JsonSchema> {
  const { $schema: _schema, $id: _id, definitions, ...root } = ruleSchema() as JsonSchema & { definitions?: Record<string, unknown> };
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/definitions/') ? `#/components/schemas/${componentName(v.slice('#/definitions/'.length))}` : rewrite(v)]),
    );
  };
  return {
    RuleDocument: { ...(rewrite(root) as JsonSchema), example: ruleExample },
    ...Object.fromEntries(Object.entries(definitions ?? {}).map(([name, s]) => [componentName(name), rewrite(s) as JsonSchema])),
  };
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const issue = { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string', example: 'conditions.all[2].value' }, message: { type: 'string' } } };

export const rulesSchemas = {
  ...ruleComponents(),
  RuleIssue: issue,
  RuleValidation: {
    type: 'object',
    required: ['valid'],
    properties: {
      valid: { type: 'boolean' },
      errors: { type: 'array', items: { $ref: '#/components/schemas/RuleIssue' } },
      warnings: { type: 'array', items: { $ref: '#/components/schemas/RuleIssue' }, description: 'e.g. a course that does not exist (yet)' },
    },
  },
  RuleBody: openApiSchema(ruleBodySchema),
  RuleValidateBody: openApiSchema(ruleValidateBodySchema),
  RuleOperator: {
    type: 'object',
    required: ['name', 'source', 'appliesTo', 'value', 'description', 'example'],
    properties: {
      name: { type: 'string', example: 'withinLastDays' },
      source: { type: 'string', enum: ['json-rules-engine', 'autogroups'] },
      appliesTo: { type: 'array', items: { type: 'string' }, description: 'The fact value types it applies to (text, number, date, boolean, select, enrollment, …)' },
      value: { type: 'string', description: 'The shape of the value it takes' },
      description: { type: 'string' },
      example: ref('RuleLeafCondition'),
    },
  },
  RuleFactPath: {
    type: 'object',
    required: ['path', 'type'],
    properties: {
      path: { type: 'string', example: '$.type' },
      type: { type: 'string' },
      options: { type: 'array', items: { type: 'string' } },
      optional: { type: 'boolean' },
      note: { type: 'string' },
      values: { type: 'array', items: { type: 'string' }, description: 'Values in use (the `user` fact’s `$.branch`)' },
      valuesTruncated: { type: 'boolean' },
    },
  },
  RuleFact: {
    type: 'object',
    required: ['name', 'params', 'yields', 'type', 'paths'],
    properties: {
      name: { type: 'string', example: 'user' },
      params: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
      yields: { type: 'string' },
      type: { type: 'string' },
      pathRequired: { type: 'boolean' },
      paths: { type: 'array', items: ref('RuleFactPath') },
    },
  },
  RuleTemplate: {
    type: 'object',
    required: ['id', 'name', 'description', 'placeholders', 'rule'],
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      description: { type: 'string' },
      placeholders: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'label', 'type', 'example'],
          properties: {
            name: { type: 'string' },
            label: { type: 'string' },
            type: { type: 'string', enum: ['course', 'field', 'text', 'number', 'textList', 'group'], description: 'What the value is: `group` is a group id (grp_…), chosen by name' },
            fieldTypes: { type: 'array', items: { type: 'string' } },
            example: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'array', items: { type: 'string' } }] },
          },
        },
      },
      rule: { description: 'A rule document whose strings may hold `{{placeholder}}`s' },
    },
  },
};

const problem = { $ref: '#/components/responses/Problem' };
const errors = { 400: problem, 401: problem, 403: problem };
const list = (description: string, item: string) => ({
  200: { description, content: { 'application/json': { schema: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref(item) } } } } } },
  401: problem,
  403: problem,
});

export const rulesOpenApi = {
  '/api/v1/rules/validate': {
    post: {
      tags: ['rules'],
      operationId: 'validateRule',
      summary: 'Check a rule against the current field definitions, courses and groups, changing nothing',
      description:
        'A `memberOf` condition must name an existing group. With `group`, the rule is checked as that group\'s rule: one that would make the groups name each other in a cycle is refused, naming it (`grp_a → grp_b → grp_a`).',
      requestBody: requestBody(ruleValidateBodySchema, { component: 'RuleValidateBody', example: { rule: ruleExample } }),
      responses: { 200: { description: 'Whether the rule is valid, with each error placed in the rule', content: { 'application/json': { schema: { $ref: '#/components/schemas/RuleValidation' } } } }, ...errors },
    },
  },
  '/api/v1/rules/preview': {
    post: {
      tags: ['rules'],
      operationId: 'previewRule',
      summary: 'Who a new automatic group with this rule would start with, creating nothing',
      description:
        'What support staff check before creating a group from a request: the users the rule selects now (a new group has no members, so ' +
        '`toRemove` is 0), counted as POST /groups/{id}/preview counts them, with samples named in `sampleAddUsers`. A rule with errors is a ' +
        '400 naming each. Needs rules:read and users:read (it shows who a rule selects).',
      requestBody: requestBody(rulePreviewBodySchema, { example: { rule: ruleExample } }),
      responses: { 200: { description: 'Counts and samples', content: { 'application/json': { schema: { $ref: '#/components/schemas/Preview' } } } }, ...errors },
    },
  },
  '/api/v1/rules/operators': { get: { tags: ['rules'], operationId: 'listRuleOperators', summary: 'The operator catalogue (and decorators)', responses: list('Operators: name, the facts they apply to, value shape, description, example', 'RuleOperator') } },
  '/api/v1/rules/facts': { get: { tags: ['rules'], operationId: 'listRuleFacts', summary: 'The facts a rule can read', description: "The `user` fact's `$.branch` path lists the branches in use in `values` (distinct values of the users' branch, sorted, at most 500 with `valuesTruncated` when there are more; refreshed at most every 30 seconds).", responses: list('Facts with their params and paths', 'RuleFact') } },
  '/api/v1/rules/templates': { get: { tags: ['rules'], operationId: 'listRuleTemplates', summary: 'Rules to start from', responses: list('Templates with placeholders', 'RuleTemplate') } },
};
