// The shapes the console reads, named from the API's own OpenAPI schemas (generated/api-schema.d.ts, which
// tools/console-types.ts generates from the service's description at build and typecheck time): no hand copies.
// A declaration file, so that tsc's skipLibCheck passes over what openapi-typescript writes for the recursive
// RuleValue (a type alias TypeScript refuses to resolve, read as any here).
import type { components } from './generated/api-schema.js';

type Schemas = components['schemas'];

export type Session = Schemas['Session'];
export type Role = Session['role'];
export type Group = Schemas['Group'];
export type Sync = NonNullable<Group['sync']>;
export type FieldDefinition = Schemas['FieldDefinition'];
export type Course = Schemas['Course'];
export type OperatorInfo = Schemas['RuleOperator'];
export type FactInfo = Schemas['RuleFact'];
export type FactPath = Schemas['RuleFactPath'];
export type RuleTemplate = Schemas['RuleTemplate'];
export type Preview = Schemas['Preview'];
export type UserSummary = Schemas['UserSummary'];
export type ExplainNode = Schemas['ExplainNode'];
export type Explanation = Schemas['Explanation'];
export type Member = Schemas['Member'];
export type Exclusion = Schemas['Exclusion'];
export type HistoryEntry = Schemas['HistoryEntry'];
export type Job = Schemas['Job'];
export type User = Schemas['User'];
export type Enrollment = Schemas['Enrollment'];
export type SupportRequest = Schemas['SupportRequest'];
export type RuleIssue = Schemas['RuleIssue'];
export type RuleValidation = Schemas['RuleValidation'];
export type ScimRequest = Schemas['ScimRequest'];

/**
 * A condition as the builder edits it. The rule schema gives each fact its `params` through if/then branches,
 * which the generated type cannot follow (it says `Record<string, never>`); every param is a string.
 */
export type Leaf = Omit<Schemas['RuleLeafCondition'], 'params' | 'value'> & { params?: Record<string, string>; value: unknown };
export type Condition = { all: Condition[] } | { any: Condition[] } | { not: Condition } | Leaf;
/** Schemas['RuleDocument'] with the builder's Condition (a leaf's params as strings). */
export interface RuleDocument {
  conditions: Condition;
}

/** What the rule builder offers: field definitions, courses, the operator and fact catalogues, templates. */
export interface Catalogue {
  templates: RuleTemplate[];
  fields: FieldDefinition[];
  courses: Course[];
  operators: OperatorInfo[];
  facts: FactInfo[];
}

/** A group as a rule or a list names it: its id and its name. */
export interface GroupRef {
  id: string;
  name: string;
  type?: string;
}

/** A page of any list (the API's lists share this shape: `?limit=`, `?cursor=`). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
