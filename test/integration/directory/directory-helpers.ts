// Factories and checks shared by the directory's integration tests.
import { createHash } from 'node:crypto';
import type { Db } from 'mongodb';
import { subscribeDirectoryChanges, type DirectoryChange } from '../../../src/directory/directory-events.js';
import type { TestService } from '../../helpers/service.js';

export const DIRECTORY_COLLECTIONS = ['users', 'fielddefs', 'courses'] as const;

/** Count and content hash of every directory collection: equal snapshots mean nothing was written. */
export async function snapshot(db: Db): Promise<Record<string, { count: number; hash: string }>> {
  const out: Record<string, { count: number; hash: string }> = {};
  for (const name of DIRECTORY_COLLECTIONS) {
    const docs = await db.collection(name).find({}).sort({ _id: 1 }).toArray();
    out[name] = { count: docs.length, hash: createHash('sha256').update(JSON.stringify(docs)).digest('hex') };
  }
  return out;
}

let serial = 0;
/** A valid whole user with a unique externalId and email. */
export function aUser(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  serial++;
  const tag = `${Date.now().toString(36)}${serial}`;
  return {
    externalId: `U${tag}`,
    email: `user.${tag}@example.com`,
    firstName: 'Ana',
    lastName: 'Silva',
    type: 'learner',
    status: 'active',
    ...overrides,
  };
}

/** Records every change published while it is attached. */
export function recordChanges(): { publishes: DirectoryChange[][]; all(): DirectoryChange[]; stop(): void; clear(): void } {
  const publishes: DirectoryChange[][] = [];
  const stop = subscribeDirectoryChanges(async (changes) => {
    publishes.push([...changes]);
  });
  return {
    publishes,
    all: () => publishes.flat(),
    stop,
    clear: () => void publishes.splice(0),
  };
}

/** The standard field definitions most tests use. */
export async function defineFields(t: TestService): Promise<void> {
  const auth = await t.auth('hr-feed');
  const defs: Array<[string, Record<string, unknown>]> = [
    ['department', { label: 'Department', type: 'select', options: ['Sales', 'Engineering', 'People'] }],
    ['jobTitle', { label: 'Job title', type: 'text' }],
    ['hireDate', { label: 'Hire date', type: 'date' }],
    ['employeeNumber', { label: 'Employee number', type: 'number' }],
    ['isManager', { label: 'People manager', type: 'boolean' }],
  ];
  for (const [key, body] of defs) {
    const res = await t.api.put(`/api/v1/fields/${key}`).set(auth).send(body);
    if (res.status !== 200 && res.status !== 201) throw new Error(`defining ${key}: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

export function pathsOf(body: { errors?: Array<{ path: string }> }): string[] {
  return (body.errors ?? []).map((e) => e.path);
}
