// Two API processes and two workers on one database, as the README tells users to scale. Writes race through both
// API processes at once; afterwards every membership, member count and history entry must follow from the stored
// users, without waiting for a sync. What holds across processes is held by the database (leases by insert,
// inserts of chosen `_id`s), not by either process's memory.
import { expect } from 'chai';
import supertest from 'supertest';
import type { Db } from 'mongodb';
import { spawnService, type ChildService } from '../../helpers/child-service.js';
import { workersOf } from '../../helpers/workers.js';
import { startTestService, testDatabaseUri, type TestService } from '../../helpers/service.js';
import { createGroup, defineField, waitForJob, type Auth } from '../membership/membership-helpers.js';

const USERS = 300;
const MOVERS = 150;
const DEPARTMENTS = ['Sales', 'Engineering', 'People'] as const;

/** The `i`th user of a batch whose ids start with `prefix`. */
const aUser = (prefix: string, i: number, fields: { department: string; level: number }) => ({
  externalId: `${prefix}${String(i).padStart(4, '0')}`,
  email: `${prefix}${i}@procs.example.com`,
  firstName: 'Ana',
  lastName: 'Silva',
  type: 'learner',
  status: 'active',
  fields,
});

/** Runs `work` over `items`, at most `limit` at once. */
async function limited<T>(items: readonly T[], limit: number, work: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}

interface StoredUser {
  _id: string;
  firstName: string;
  fields: { department?: string; level?: number };
  status: string;
}

/** Who each group's rule selects, computed here from the stored users (the rules are the test's own). */
function expectedMembers(users: readonly StoredUser[], groupRules: Record<string, (u: StoredUser) => boolean>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [g, selects] of Object.entries(groupRules)) out.set(g, new Set(users.filter((u) => u.status === 'active' && selects(u)).map((u) => u._id)));
  return out;
}

/**
 * Every group's history must hold each transition once: per user, as many additions as removals, plus one if the user
 * is a member now. (Not their order by `at`: a sync writes the instant it was queued, which can be earlier than a
 * change that landed while it waited.)
 */
async function checkHistory(db: Db, groupId: string, members: ReadonlySet<string>): Promise<string[]> {
  const problems: string[] = [];
  const entries = await db.collection<{ externalId: string; action: string }>('membership_history').find({ group: groupId }).toArray();
  const balance = new Map<string, number>();
  for (const e of entries) balance.set(e.externalId, (balance.get(e.externalId) ?? 0) + (e.action === 'added' ? 1 : -1));
  for (const m of members) if (!balance.has(m)) problems.push(`${groupId}: ${m} is a member without a history entry`);
  for (const [user, n] of balance) {
    const want = members.has(user) ? 1 : 0;
    if (n !== want) problems.push(`${groupId}: ${user} has ${n > want ? 'an addition' : 'a removal'} too many in history`);
  }
  return problems;
}

describe('Many processes, one truth: two API processes and two workers on one database', function () {
  this.timeout(300_000);
  let t: TestService;
  let other: ChildService;
  let api2: supertest.Agent;
  let admin: Auth;
  let hr: Auth;
  const pool = workersOf(() => t);
  const groups: Record<string, string> = {};
  const db = () => t.service.database.db;
  const apis = () => [t.api, api2];

  before(async () => {
    t = await startTestService('procs', { ROLE: 'api' });
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    // The three processes start side by side: each spends most of its start loading its modules.
    [other] = await Promise.all([
      spawnService({ ROLE: 'api', MONGODB_URI: testDatabaseUri(), MONGODB_DB: t.service.config.databaseName, JOB_POLL_MS: '100' }),
      pool.start(),
      pool.start(),
    ]);
    api2 = supertest.agent(`http://127.0.0.1:${other.port}`);
    await defineField(t, hr, 'department', { label: 'Department', type: 'select', options: [...DEPARTMENTS] });
    await defineField(t, hr, 'level', { label: 'Level', type: 'number' });
    const byField = (key: string, operator: string, value: unknown) => ({ fact: 'field', params: { key }, operator, value });
    groups.salesSenior = (await createGroup(t, admin, { type: 'automatic', rule: { conditions: { all: [byField('department', 'equal', 'Sales'), byField('level', 'greaterThanInclusive', 3)] } } })).id;
    for (const d of DEPARTMENTS) groups[d] = (await createGroup(t, admin, { type: 'automatic', rule: { conditions: { all: [byField('department', 'equal', d)] } } })).id;
    const users = Array.from({ length: USERS }, (_, i) => aUser('p', i, { department: 'Sales', level: 1 }));
    await t.api.post('/api/v1/users/batch').set(hr).send({ users }).expect(200);
  });

  after(async () => {
    await pool.stopAll();
    if (other && other.child.exitCode === null) other.child.kill('SIGTERM');
    await other?.exited;
    await t.stop();
  });

  const ids = Array.from({ length: USERS }, (_, i) => `p${String(i).padStart(4, '0')}`);
  const storedUsers = () => db().collection<StoredUser>('users').find({ _id: { $in: ids } }).toArray();
  const memberSet = async (groupId: string) => new Set((await db().collection<{ externalId: string }>('memberships').find({ group: groupId }).toArray()).map((m) => m.externalId));

  it('when each user gets two PATCHes at once, one field through each process, then no update is lost and membership follows both', async () => {
    await limited(ids, 24, async (id) => {
      const [a, b] = await Promise.all([
        t.api.patch(`/api/v1/users/${id}`).set(hr).send({ fields: { level: 5 } }),
        api2.patch(`/api/v1/users/${id}`).set(hr).send({ firstName: 'Bea' }),
      ]);
      expect([a.status, b.status], `${id}: ${JSON.stringify([a.body, b.body])}`).to.deep.equal([200, 200]);
    });
    const users = await storedUsers();
    const lost = users.filter((u) => u.fields.level !== 5 || u.firstName !== 'Bea').map((u) => u._id);
    expect(lost, 'users that lost a field update').to.deep.equal([]);
    // Settled by the time the writes answered: no sync asked for, none waited for.
    expect([...(await memberSet(groups.salesSenior!))].sort()).to.deep.equal(ids);
  });

  it('when the same field gets two values at once through the two processes, then each user is in exactly the group of the value stored', async () => {
    const movers = ids.slice(0, MOVERS);
    await limited(movers, 24, async (id) => {
      const [a, b] = await Promise.all([
        t.api.patch(`/api/v1/users/${id}`).set(hr).send({ fields: { department: 'Engineering' } }),
        api2.patch(`/api/v1/users/${id}`).set(hr).send({ fields: { department: 'People' } }),
      ]);
      expect([a.status, b.status]).to.deep.equal([200, 200]);
    });
    const users = await storedUsers();
    const expected = expectedMembers(users, Object.fromEntries(DEPARTMENTS.map((d) => [groups[d]!, (u: StoredUser) => u.fields.department === d])));
    for (const d of DEPARTMENTS) {
      const actual = await memberSet(groups[d]!);
      const wrong = [...actual].filter((u) => !expected.get(groups[d]!)!.has(u));
      const missing = [...expected.get(groups[d]!)!].filter((u) => !actual.has(u));
      expect({ wrong, missing }, d).to.deep.equal({ wrong: [], missing: [] });
    }
  });

  it('when four PATCHes of a group carry the same If-Match, two through each process, then exactly one wins', async () => {
    for (let round = 0; round < 5; round++) {
      const res = await t.api.get(`/api/v1/groups/${groups.People}`).set(admin).expect(200);
      const tag = res.headers.etag as string;
      const answers = await Promise.all(
        [0, 1, 2, 3].map((i) => apis()[i % 2]!.patch(`/api/v1/groups/${groups.People}`).set(admin).set('If-Match', tag).send({ description: `round ${round} writer ${i}` })),
      );
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses, `round ${round}`).to.deep.equal([200, 412, 412, 412]);
      const winner = answers.find((a) => a.status === 200)!;
      const stored = await db().collection('groups').findOne({ _id: groups.People as never });
      expect(stored?.description).to.equal(winner.body.description);
    }
  });

  it('when users join by key through both processes at once, then exactly maxUses of them get in', async () => {
    const g = await createGroup(t, admin, { type: 'manual', key: { enabled: true, maxUses: 7 } });
    const key = (await t.api.get(`/api/v1/groups/${g.id}`).set(admin).expect(200)).body.key.key as string;
    const integration = await t.auth('integration');
    const joiners = ids.slice(0, 30);
    const answers = await Promise.all(joiners.map((id, i) => apis()[i % 2]!.post('/api/v1/join').set(integration).send({ key, externalId: id })));
    expect(answers.filter((a) => a.status === 200)).to.have.length(7);
    expect(answers.filter((a) => a.status !== 200).map((a) => a.status)).to.satisfy((s: number[]) => s.every((x) => x === 410));
    expect((await memberSet(g.id)).size).to.equal(7);
    const view = (await t.api.get(`/api/v1/groups/${g.id}`).set(admin).expect(200)).body;
    expect(view).to.deep.include({ memberCount: 7 });
    expect(view.key).to.include({ uses: 7, maxUses: 7 });
  });

  it('when rules change through both processes while a full sync runs and users move, then memberships, counts and history all follow the stored users', async () => {
    const sync = await t.api.post('/api/v1/sync').set(admin).expect(202);
    // The senior threshold moves up through one process and back down through the other, while users change.
    const put = (agent: supertest.Agent, level: number) =>
      agent.put(`/api/v1/groups/${groups.salesSenior}/rule`).set(admin).send({
        rule: { conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Sales' }, { fact: 'field', params: { key: 'level' }, operator: 'greaterThanInclusive', value: level }] } },
      });
    const writes = limited(ids.slice(MOVERS), 16, async (id, i) => {
      const res = await apis()[i % 2]!.patch(`/api/v1/users/${id}`).set(hr).send({ fields: { level: i % 9 } });
      expect(res.status).to.equal(200);
    });
    const first = await put(t.api, 4);
    const second = await put(api2, 6);
    expect([first.status, second.status]).to.deep.equal([200, 200]);
    await writes;
    await waitForJob(t, admin, sync.body.jobId as string, { timeoutMs: 120_000 });
    if (second.body.jobId) await waitForJob(t, admin, second.body.jobId as string, { timeoutMs: 60_000 });
    if (first.body.jobId) await waitForJob(t, admin, first.body.jobId as string, { timeoutMs: 60_000, allowFailure: true });
    // And whatever those jobs queued (a group the full sync found changed under it is synced again).
    const deadline = Date.now() + 60_000;
    while ((await db().collection('jobs').countDocuments({ status: { $in: ['queued', 'running'] } })) > 0) {
      if (Date.now() > deadline) throw new Error('jobs still running after 60 s');
      await new Promise((r) => setTimeout(r, 200));
    }

    const users = await storedUsers();
    const rulesNow: Record<string, (u: StoredUser) => boolean> = {
      [groups.salesSenior!]: (u) => u.fields.department === 'Sales' && (u.fields.level ?? 0) >= 6,
      ...Object.fromEntries(DEPARTMENTS.map((d) => [groups[d]!, (u: StoredUser) => u.fields.department === d])),
    };
    const expected = expectedMembers(users, rulesNow);
    const problems: string[] = [];
    for (const [g, want] of expected) {
      const actual = await memberSet(g);
      for (const u of actual) if (!want.has(u)) problems.push(`${g}: ${u} is a member the rule does not select`);
      for (const u of want) if (!actual.has(u)) problems.push(`${g}: ${u} is selected but not a member`);
      const counted = (await db().collection<{ memberCount: number }>('group_counts').findOne({ _id: g as never }))?.memberCount;
      if (counted !== actual.size) problems.push(`${g}: stored count ${counted}, ${actual.size} memberships`);
      problems.push(...(await checkHistory(db(), g, actual)));
    }
    expect(problems).to.deep.equal([]);
  });

  it('when overlapping batches of new users go through both processes at once, then each user is created once, at version 1, with one event, and joins their group once', async () => {
    const all = Array.from({ length: 300 }, (_, i) => aUser('q', i, { department: 'People', level: 2 }));
    // Twenty users are in both batches: the batch that comes second finds them stored, among users it inserts
    // without reading them first.
    const [a, b] = await Promise.all([
      t.api.post('/api/v1/users/batch').set(hr).send({ users: all.slice(0, 160) }),
      api2.post('/api/v1/users/batch').set(hr).send({ users: all.slice(140) }),
    ]);
    expect([a.status, b.status], JSON.stringify([a.body, b.body]).slice(0, 600)).to.deep.equal([200, 200]);
    expect({ created: a.body.created + b.body.created, unchanged: a.body.unchanged + b.body.unchanged, updated: a.body.updated + b.body.updated, failed: a.body.failed + b.body.failed }).to.deep.equal({
      created: 300,
      unchanged: 20,
      updated: 0,
      failed: 0,
    });
    const qids = all.map((u) => u.externalId);
    const stored = await db().collection<{ _id: string; version: number }>('users').find({ _id: { $in: qids } }).toArray();
    expect(stored.filter((u) => u.version !== 1).map((u) => u._id), 'users not at version 1').to.deep.equal([]);
    expect(stored).to.have.length(300);
    const events = await db().collection<{ _id: string; kind: string }>('user_events').find({ user: { $in: qids } }).toArray();
    expect(events.map((e) => `${e._id} ${e.kind}`).sort()).to.deep.equal(qids.map((id) => `${id}:1 user.created`));
    const people = await memberSet(groups.People!);
    expect(qids.filter((id) => !people.has(id)), 'not members').to.deep.equal([]);
    const counted = (await db().collection<{ memberCount: number }>('group_counts').findOne({ _id: groups.People as never }))?.memberCount;
    expect(counted).to.equal(people.size);
    const history = await db().collection<{ externalId: string; action: string }>('membership_history').find({ group: groups.People, externalId: { $in: qids } }).toArray();
    expect(history.map((h) => `${h.externalId} ${h.action}`).sort()).to.deep.equal(qids.map((id) => `${id} added`));
  });
});
