// OpenAPI 3.1 schemas generated from the joi schemas the routes validate with, so that the served description
// cannot drift from what the API accepts. joi-to-json does the conversion; this module only tidies its output
// (without changing what it accepts) and reads the two annotations below.
import Joi from 'joi';
import joiToJson from 'joi-to-json';

export type JsonSchema = Record<string, unknown>;

// The package is CommonJS (`module.exports = parse`) while its types declare an ES default export.
const parse = joiToJson as unknown as (schema: Joi.Schema, mode: 'open-api-3.1') => unknown;

export interface Parameter {
  name: string;
  in: 'path' | 'query';
  required?: boolean;
  description?: string;
  style?: 'form';
  explode?: boolean;
  schema: JsonSchema;
  example?: unknown;
}

const SCHEMA_REF = 'x-schema-ref';
const documentedShapes = new WeakMap<Joi.Schema, Joi.Schema>();

/**
 * A value the route passes on unchecked because a dedicated checker names each bad place inside it (a rule is
 * checked by validateRule), documented by that component of the description instead of by joi.
 */
export function documentedBy<T extends Joi.Schema>(schema: T, component: string): T {
  return schema.meta({ [SCHEMA_REF]: component }) as T;
}

/**
 * A body the route checks only loosely because the service checks it against `shape` together with what joi
 * cannot know (the field definitions), in one pass that names every problem. The docs show `shape`.
 */
export function checkedByService<T extends Joi.Schema>(validator: T, shape: Joi.Schema): T {
  const marked = validator.meta({ checkedByService: true }) as T; // a copy of its own, however often `validator` is reused
  documentedShapes.set(marked, shape);
  return marked;
}

/** Whether the route hands this body on to a service that checks it in full (see checkedByService). */
export function isCheckedByService(schema: Joi.Schema): boolean {
  return documentedShapes.has(schema);
}

/** An attribute of a resource's representation that a body may repeat (so a GET can be sent back) and that is ignored. */
export function readOnlyAttribute(): Joi.Schema {
  return Joi.any().strip().meta({ readOnly: true }).description('Read-only: accepted and ignored, so that a GET answer can be sent back');
}

function documentedShape(schema: Joi.Schema): Joi.Schema {
  const shape = documentedShapes.get(schema);
  return shape ? documentedShape(shape) : schema;
}

const ANY_TYPE = ['array', 'boolean', 'number', 'object', 'string', 'null'];
const isPlainObject = (v: unknown): v is JsonSchema => v !== null && typeof v === 'object' && !Array.isArray(v);
const isNever = (v: unknown) => isPlainObject(v) && Object.keys(v).length === 1 && isPlainObject(v.not) && Object.keys(v.not).length === 0;

/**
 * Rewrites joi-to-json's output into the equivalent schema a reader expects: `type` listing every JSON type is
 * dropped; `oneOf: [X, {not: {}}]` (how it renders a field that another field's value makes allowed or
 * forbidden) becomes X, the condition being said in the joi schema's description; `x-schema-ref` becomes the $ref;
 * the `/regex/` property it adds next to patternProperties, and an empty `properties`, are removed.
 */
function tidy(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tidy);
  if (!isPlainObject(node)) return node;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'properties' || k === 'patternProperties' ? mapValues(v, tidy) : k === 'default' || k === 'enum' || k === 'const' || k === 'examples' || k === 'example' ? v : tidy(v);
  if (typeof out[SCHEMA_REF] === 'string') {
    return { $ref: `#/components/schemas/${out[SCHEMA_REF]}`, ...(typeof out.description === 'string' ? { description: out.description } : {}) };
  }
  if (Array.isArray(out.type) && ANY_TYPE.every((t) => (out.type as string[]).includes(t))) delete out.type;
  for (const combinator of ['oneOf', 'anyOf'] as const) {
    const options = out[combinator];
    if (Array.isArray(options) && options.some(isNever)) {
      const rest = options.filter((o) => !isNever(o));
      delete out[combinator];
      if (rest.length === 1) Object.assign(out, rest[0] as JsonSchema, out);
      else if (rest.length > 1) out[combinator] = rest;
    }
  }
  foldRefusedValues(out);
  if (isPlainObject(out.properties) && isPlainObject(out.patternProperties)) {
    out.properties = Object.fromEntries(Object.entries(out.properties).filter(([k]) => !/^\/.*\/[a-z]*$/.test(k)));
  }
  if (isPlainObject(out.properties) && Object.keys(out.properties).length === 0) delete out.properties;
  return out;
}

const escapeRegex = (v: string) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * joi's `.invalid('a', 'b')` on a string comes out as `not: { enum: ['a', 'b'] }`, which Swagger UI shows as a
 * parameter of type "never". The same refusal is written into `pattern` as a lookahead (ECMA-262, as OpenAPI's
 * `pattern` is), which accepts exactly the same strings and reads as a string with a pattern.
 */
function foldRefusedValues(out: JsonSchema): void {
  const not = out.not;
  if (out.type !== 'string' || !isPlainObject(not) || Object.keys(not).length !== 1 || !Array.isArray(not.enum) || !not.enum.every((v) => typeof v === 'string')) return;
  const refused = `^(?!(?:${(not.enum as string[]).map(escapeRegex).join('|')})$)`;
  const pattern = typeof out.pattern === 'string' ? out.pattern : undefined;
  out.pattern = pattern === undefined ? refused : pattern.startsWith('^') ? `${refused}${pattern.slice(1)}` : `${refused}[\\s\\S]*?(?:${pattern})`;
  delete out.not;
}

function mapValues(v: unknown, f: (x: unknown) => unknown): unknown {
  return isPlainObject(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, f(x)])) : v;
}

/** The OpenAPI 3.1 schema of what `schema` accepts (its documented shape, when it has one). */
export function openApiSchema(schema: Joi.Schema): JsonSchema {
  return tidy(parse(documentedShape(schema), 'open-api-3.1')) as JsonSchema;
}

function objectSchema(schema: Joi.ObjectSchema): { properties: Record<string, JsonSchema>; required: string[]; patternProperties: Record<string, JsonSchema> } {
  const s = openApiSchema(schema);
  return {
    properties: (s.properties ?? {}) as Record<string, JsonSchema>,
    required: (s.required ?? []) as string[],
    patternProperties: (s.patternProperties ?? {}) as Record<string, JsonSchema>,
  };
}

/** The path parameters a route's `params` schema accepts, in its order. */
export function pathParameters(schema: Joi.ObjectSchema, examples: Record<string, unknown> = {}): Parameter[] {
  const { properties } = objectSchema(schema);
  return Object.entries(properties).map(([name, s]) => ({
    name,
    in: 'path',
    required: true,
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: s,
    ...(name in examples ? { example: examples[name] } : {}),
  }));
}

/**
 * The query parameters a route's `query` schema accepts. Keys matched by a pattern (e.g. `field.<key>`) cannot be
 * named one by one: they are one form-exploded object parameter, each of its properties a parameter of its own.
 */
export function queryParameters(schema: Joi.ObjectSchema, patternParameterName = 'filters'): Parameter[] {
  const { properties, required, patternProperties } = objectSchema(schema);
  const named: Parameter[] = Object.entries(properties).map(([name, s]) => ({
    name,
    in: 'query',
    ...(required.includes(name) ? { required: true } : {}),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: s,
  }));
  if (!Object.keys(patternProperties).length) return named;
  const description = openApiSchema(schema).description;
  return [
    ...named,
    {
      name: patternParameterName,
      in: 'query',
      style: 'form',
      explode: true,
      ...(typeof description === 'string' ? { description } : {}),
      schema: { type: 'object', patternProperties, additionalProperties: false },
    },
  ];
}

/**
 * An operation's JSON request body: the schema `schema` accepts (as the named component, when given, which the
 * document must define as openApiSchema of the same joi schema), required unless an empty object passes, and the
 * example Swagger UI's "Try it out" starts from.
 */
export function requestBody(schema: Joi.Schema, options: { component?: string; example?: unknown } = {}): JsonSchema {
  const required = documentedShape(schema).validate({}).error !== undefined;
  return {
    required,
    content: {
      'application/json': {
        schema: options.component ? { $ref: `#/components/schemas/${options.component}` } : openApiSchema(schema),
        ...(options.example !== undefined ? { example: options.example } : {}),
      },
    },
  };
}
