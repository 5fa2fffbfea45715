// The shapes the console reads from the public API (API.md); only the fields it shows.

export type Role = 'admin' | 'support' | 'hr-feed' | 'viewer' | 'integration';

export interface Session {
  keyId: string;
  name: string;
  role: Role;
  expiresAt: string;
  csrfToken: string;
}

export interface Sync {
  state: string;
  lastSyncAt: string | null;
  lastChangeAt: string | null;
  lastError?: string;
  heldRemovals?: number;
  jobId?: string;
}

export interface Group {
  id: string;
  name: string;
  description?: string;
  type: 'manual' | 'automatic';
  rule?: RuleDocument;
  ruleVersion?: number;
  paused: boolean;
  memberCount: number;
  sync?: Sync;
  updatedAt: string;
}

export type Leaf = { fact: string; operator: string; value: unknown; params?: Record<string, string>; path?: string };
export type Condition = { all: Condition[] } | { any: Condition[] } | { not: Condition } | Leaf;
export interface RuleDocument {
  conditions: Condition;
}

export interface FieldDefinition {
  key: string;
  label: string;
  type: 'text' | 'number' | 'date' | 'boolean' | 'select';
  options?: string[];
}
export interface Course {
  code: string;
  title: string;
}
export interface OperatorInfo {
  name: string;
  appliesTo: string[];
  value: string;
  description: string;
}
export interface FactPath {
  path: string;
  type: string;
  options?: string[];
}
export interface FactInfo {
  name: string;
  type: string;
  paths: FactPath[];
  pathRequired?: boolean;
}
export interface RuleTemplate {
  id: string;
  name: string;
  description: string;
  placeholders: Array<{ name: string; label: string; example: unknown }>;
  rule: RuleDocument;
}
export interface Catalogue {
  templates: RuleTemplate[];
  fields: FieldDefinition[];
  courses: Course[];
  operators: OperatorInfo[];
  facts: FactInfo[];
}

export interface Preview {
  toAdd: number;
  toRemove: number;
  sampleAdd: string[];
  sampleRemove: string[];
}

export interface ExplainNode {
  all?: ExplainNode[];
  any?: ExplainNode[];
  not?: ExplainNode;
  fact?: string;
  params?: Record<string, unknown>;
  path?: string;
  operator?: string;
  value?: unknown;
  factValue?: unknown;
  result: boolean;
}
export interface Explanation {
  member: boolean;
  matches: boolean;
  conditions?: ExplainNode;
}

export interface Member {
  externalId: string;
  source: string;
  addedAt: string;
}
export interface HistoryEntry {
  at: string;
  externalId: string;
  action: 'added' | 'removed';
  source: string;
  ruleVersion?: number;
  actor?: string;
  reason: string;
}
export interface Job {
  id: string;
  name: string;
  status: 'queued' | 'running' | 'completed' | 'failed';
  progress?: { done: number; total: number };
  error?: string;
  result?: Record<string, unknown>;
  createdAt?: string;
  startedAt?: string;
}
export interface User {
  externalId: string;
  email: string;
  firstName: string;
  lastName: string;
  type: string;
  status: string;
  branch?: string;
  fields: Record<string, unknown>;
}
export interface Enrollment {
  course: string;
  status: string;
  role?: string;
  class?: string;
  cohort?: string;
}
export interface SupportRequest {
  id: string;
  title: string;
  description: string;
  requestedBy: string;
  status: 'open' | 'in_progress' | 'done' | 'rejected';
  draftRule?: RuleDocument;
  draftRuleErrors?: Array<{ path: string; message: string }>;
  groupId?: string;
  timeline: Array<{ at: string; actor: string; event: string; status: string; note?: string; groupId?: string | null }>;
  createdAt: string;
}

export type { Page } from './api.js';
