// Factories and checks shared by the directory's integration tests.
import { createHash } from 'node:crypto';
import type { Db } from 'mongodb';
import type { DirectoryChange } from '../../../src/directory/directory-change.js';
import type { UserEventDoc } from '../../../src/directory/user-events.js';
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

/**
 * The changes the directory stored from now until stop(), as its outbox holds them (user_events): one list per
 * write (request), in the order they were written.
 */
export function recordChanges(t: TestService): { writes(): Promise<DirectoryChange[][]>; all(): Promise<DirectoryChange[]>; stop(): void; clear(): void } {
  let since = new Date();
  let until: Date | undefined;
  const writes = async () => {
    const at: Record<string, unknown> = { $gte: since, ...(until ? { $lte: until } : {}) };
    const events = await t.service.database.db.collection<UserEventDoc>('user_events').find({ at }).toArray();
    const byWrite = new Map<string, UserEventDoc[]>();
    for (const e of events.sort((x, y) => x.at.getTime() - y.at.getTime() || x.write.localeCompare(y.write) || x.user.localeCompare(y.user))) {
      byWrite.set(e.write, [...(byWrite.get(e.write) ?? []), e]);
    }
    return [...byWrite.values()].map((list) => list.map((e) => ({ kind: e.kind, externalId: e.user, changed: e.changed, actor: e.actor })));
  };
  return {
    writes,
    all: async () => (await writes()).flat(),
    stop: () => void (until = new Date()),
    /** Starts again from now. */
    clear: () => void (since = new Date()),
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
