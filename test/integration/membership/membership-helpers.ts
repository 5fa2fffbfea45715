// Factories and waits shared by the membership and group tests. Everything goes through HTTP.
import { expect } from 'chai';
import type { TestService } from '../../helpers/service.js';

export type Auth = { Authorization: string };

let serial = 0;
export function uniq(prefix: string): string {
  serial++;
  return `${prefix}${Date.now().toString(36)}${serial}`;
}

/** A valid user body with a unique externalId and email. */
export function userBody(overrides: Record<string, unknown> = {}): Record<string, unknown> & { externalId: string } {
  const tag = uniq('');
  return {
    externalId: `u${tag}`,
    email: `person.${tag}@example.com`,
    firstName: 'Ana',
    lastName: 'Silva',
    type: 'learner',
    status: 'active',
    ...overrides,
  } as Record<string, unknown> & { externalId: string };
}

export async function putUser(t: TestService, hr: Auth, body: Record<string, unknown> & { externalId: string }): Promise<string> {
  const res = await t.api.put(`/api/v1/users/${body.externalId}`).set(hr).send(body);
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT user ${body.externalId}: ${res.status} ${JSON.stringify(res.body)}`);
  return body.externalId;
}

export async function patchUser(t: TestService, hr: Auth, externalId: string, patch: Record<string, unknown>): Promise<void> {
  const res = await t.api.patch(`/api/v1/users/${externalId}`).set(hr).send(patch);
  if (res.status !== 200) throw new Error(`PATCH user ${externalId}: ${res.status} ${JSON.stringify(res.body)}`);
}

export async function enrol(t: TestService, hr: Auth, course: string, externalId: string, body: Record<string, unknown>): Promise<void> {
  const res = await t.api.put(`/api/v1/courses/${course}/enrollments/${externalId}`).set(hr).send(body);
  if (res.status !== 200 && res.status !== 201) throw new Error(`enrol ${externalId} in ${course}: ${res.status} ${JSON.stringify(res.body)}`);
}

export async function defineField(t: TestService, hr: Auth, key: string, body: Record<string, unknown>): Promise<void> {
  const res = await t.api.put(`/api/v1/fields/${key}`).set(hr).send(body);
  if (res.status !== 200 && res.status !== 201) throw new Error(`field ${key}: ${res.status} ${JSON.stringify(res.body)}`);
}

export async function putCourse(t: TestService, hr: Auth, code: string, title: string): Promise<void> {
  const res = await t.api.put(`/api/v1/courses/${code}`).set(hr).send({ title });
  if (res.status !== 200 && res.status !== 201) throw new Error(`course ${code}: ${res.status} ${JSON.stringify(res.body)}`);
}

export interface JobView {
  id: string;
  status: string;
  progress: { done: number; total: number };
  result?: Record<string, unknown>;
  error?: string;
}

/** Polls the job until it has finished; fails the test if it failed, unless `allowFailure`. */
export async function waitForJob(t: TestService, auth: Auth, jobId: string, opts: { timeoutMs?: number; allowFailure?: boolean } = {}): Promise<JobView> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  for (;;) {
    const res = await t.api.get(`/api/v1/jobs/${jobId}`).set(auth).expect(200);
    const job = res.body as JobView;
    if (job.status === 'completed') return job;
    if (job.status === 'failed') {
      if (opts.allowFailure) return job;
      throw new Error(`job ${jobId} failed: ${job.error}`);
    }
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status} after ${opts.timeoutMs ?? 15_000} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface GroupBody {
  id: string;
  jobId?: string;
  memberCount: number;
  ruleVersion?: number;
  sync?: { state: string; lastSyncAt: string | null; lastChangeAt: string | null; nextChangeAt?: string | null; lastError?: string };
  [k: string]: unknown;
}

/** Creates a group and, for an automatic one, waits for its first sync. */
export async function createGroup(t: TestService, auth: Auth, body: Record<string, unknown>): Promise<GroupBody> {
  const res = await t.api.post('/api/v1/groups').set(auth).send({ name: uniq('Group '), ...body });
  if (res.status !== 201) throw new Error(`create group: ${res.status} ${JSON.stringify(res.body)}`);
  const group = res.body as GroupBody;
  if (group.jobId) await waitForJob(t, auth, group.jobId);
  return group;
}

export async function getGroup(t: TestService, auth: Auth, id: string): Promise<GroupBody> {
  return (await t.api.get(`/api/v1/groups/${id}`).set(auth).expect(200)).body as GroupBody;
}

/** Every member as "externalId:source", sorted. */
export async function memberList(t: TestService, auth: Auth, groupId: string): Promise<Array<{ externalId: string; source: string; addedAt: string }>> {
  const out: Array<{ externalId: string; source: string; addedAt: string }> = [];
  let cursor: string | null = null;
  do {
    const res: { body: { items: typeof out; nextCursor: string | null } } = await t.api
      .get(`/api/v1/groups/${groupId}/members`)
      .query(cursor ? { limit: 1000, cursor } : { limit: 1000 })
      .set(auth)
      .expect(200);
    out.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return out;
}

export async function memberIds(t: TestService, auth: Auth, groupId: string): Promise<string[]> {
  return (await memberList(t, auth, groupId)).map((m) => m.externalId).sort();
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

export async function historyOf(t: TestService, auth: Auth, groupId: string, query: Record<string, string> = {}): Promise<HistoryEntry[]> {
  const out: HistoryEntry[] = [];
  let cursor: string | null = null;
  do {
    const res: { body: { items: HistoryEntry[]; nextCursor: string | null } } = await t.api
      .get(`/api/v1/groups/${groupId}/history`)
      .query({ ...query, limit: 1000, ...(cursor ? { cursor } : {}) })
      .set(auth)
      .expect(200);
    out.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return out;
}

/** Syncs the group through the API and waits for the job. */
export async function syncGroup(t: TestService, auth: Auth, groupId: string, body: Record<string, unknown> = {}): Promise<JobView> {
  const res = await t.api.post(`/api/v1/groups/${groupId}/sync`).set(auth).send(body).expect(202);
  return waitForJob(t, auth, res.body.jobId as string);
}

export function expectSorted(actual: string[], expected: string[]): void {
  expect([...actual].sort()).to.deep.equal([...expected].sort());
}

/** Rules used by several tests. */
export const rules = {
  completed: (course: string) => ({ conditions: { all: [{ fact: 'enrollment', params: { course }, path: '$.status', operator: 'equal', value: 'completed' }] } }),
  emailKeyword: (keyword: string) => ({ conditions: { all: [{ fact: 'email', operator: 'includesText', value: keyword }] } }),
  field: (key: string, value: string | number | boolean) => ({ conditions: { all: [{ fact: 'field', params: { key }, operator: 'equal', value }] } }),
  fieldIn: (key: string, values: string[]) => ({ conditions: { all: [{ fact: 'field', params: { key }, operator: 'in', value: values }] } }),
};
