// The rule catalogues served by GET /api/v1/rules/{operators,facts,templates}: data in the repository's rules/
// folder, reviewed like code, loaded once (imported as JSON modules, so builds carry them along) and frozen.
import factsJson from '../../rules/facts.json' with { type: 'json' };
import operatorsJson from '../../rules/operators.json' with { type: 'json' };
import schemaJson from '../../rules/rule.schema.json' with { type: 'json' };
import templatesJson from '../../rules/templates.json' with { type: 'json' };
import type { LeafCondition, RuleDocument } from './rule.types.js';

export interface OperatorInfo {
  name: string;
  source: 'json-rules-engine' | 'autogroups';
  appliesTo: string[];
  value: string;
  description: string;
  example: LeafCondition;
}
export interface DecoratorInfo {
  name: string;
  description: string;
  example: LeafCondition | null;
}
export interface FactPathInfo {
  path: string;
  type: string;
  options?: string[];
  optional?: boolean;
  note?: string;
  /** Values in use (GET /rules/facts: the branches of the users, refreshed every 30 s, at most 500). */
  values?: string[];
  valuesTruncated?: boolean;
}
export interface FactInfo {
  name: string;
  params: Record<string, string> | null;
  yields: string;
  type: string;
  pathRequired?: boolean;
  paths: FactPathInfo[];
}
export interface TemplatePlaceholder {
  name: string;
  label: string;
  /** `group`: a group's id (a `memberOf` condition's params.group), which a person chooses by the group's name. */
  type: 'course' | 'field' | 'text' | 'number' | 'textList' | 'group';
  fieldTypes?: string[];
  example: string | number | string[];
}
/**
 * A rule to start from. In `rule`, a string that is exactly "{{name}}" is replaced by the placeholder's value
 * (keeping its type: a number, a list); "{{name}}" inside a longer string is replaced as text.
 */
export interface RuleTemplate {
  id: string;
  name: string;
  description: string;
  placeholders: TemplatePlaceholder[];
  rule: RuleDocument;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const operators = deepFreeze(operatorsJson as unknown as { operators: OperatorInfo[]; decorators: DecoratorInfo[] });
const facts = deepFreeze((factsJson as unknown as { facts: FactInfo[] }).facts);
const templates = deepFreeze((templatesJson as unknown as { templates: RuleTemplate[] }).templates);
const schema = deepFreeze(schemaJson as Record<string, unknown>);

export function operatorCatalogue(): Readonly<{ operators: readonly OperatorInfo[]; decorators: readonly DecoratorInfo[] }> {
  return operators;
}

export function factCatalogue(): readonly FactInfo[] {
  return facts;
}

export function ruleTemplates(): readonly RuleTemplate[] {
  return templates;
}

/** The JSON Schema of a rule document (rules/rule.schema.json). */
export function ruleSchema(): Readonly<Record<string, unknown>> {
  return schema;
}

/** The template's rule with its placeholders filled in; a placeholder without a value keeps its example. */
export function fillTemplate(template: RuleTemplate, values: Readonly<Record<string, unknown>> = {}): RuleDocument {
  const lookup = (name: string): unknown => {
    if (Object.prototype.hasOwnProperty.call(values, name)) return values[name];
    return template.placeholders.find((p) => p.name === name)?.example;
  };
  const fill = (node: unknown): unknown => {
    if (typeof node === 'string') {
      const whole = /^\{\{(\w+)\}\}$/.exec(node);
      if (whole) return lookup(whole[1]!);
      return node.replace(/\{\{(\w+)\}\}/g, (_m, name: string) => String(lookup(name)));
    }
    if (Array.isArray(node)) return node.map(fill);
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, fill(v)]));
    }
    return node;
  };
  return fill(template.rule) as RuleDocument;
}
