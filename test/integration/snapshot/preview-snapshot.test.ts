// Previews read the directory snapshot (every user's facts and every membership, held in process and caught up
// from the change feed) instead of the users and memberships collections. These tests pin that a preview plans
// exactly what a sync would plan from the database, after every kind of write, in a process that held nothing,
// after a compaction and after the rebuild that follows a full sync.
import { expect } from 'chai';
import { Collection, Db } from 'mongodb';
import { startTestService, type TestService } from '../../helpers/service.js';
import {
  createGroup,
  defineField,
  enrol,
  patchUser,
  putCourse,
  putUser,
  rules,
  uniq,
  userBody,
  waitForJob,
  type Auth,
} from '../membership/membership-helpers.js';
import { GroupModel, type GroupDoc } from '../../../src/groups/group.model.js';
import { toEvalGroup } from '../../../src/membership/active-groups.js';
import { planFromSnapshot, planGroup } from '../../../src/membership/group-sync.js';
import type { RuleDocument } from '../../../src/rules/index.js';
import { buildSnapshotFromDatabase, COMPACT_AFTER_ENTRIES, currentSnapshot, forgetSnapshot, refreshStoredSnapshot } from '../../../src/snapshot/directory-snapshot.js';
import { FEED_BUCKET, feedHeadSeq, readChangesAfter, recordChanges } from '../../../src/snapshot/change-feed.js';
import { readHeader } from '../../../src/snapshot/snapshot-store.js';
import { toUserFacts } from '../../../src/directory/user-facts.js';

const DEPARTMENTS = ['Sales', 'Engineering', 'People'];

/** Proposed rules every group is previewed with, beside its stored one. */
const PROPOSALS: RuleDocument[] = [
  rules.fieldIn('department', ['Sales', 'People']) as RuleDocument,
  rules.completed('SNAP-1') as RuleDocument,
  { conditions: { any: [rules.emailKeyword('.a')!.conditions.all[0]!, { fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }] } } as RuleDocument,
];

describe('Preview from the directory snapshot', () => {
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  let db: Db;
  const groups: string[] = [];
  const users: string[] = [];

  before(async () => {
    // The recurring refresh would store snapshots of its own mid-test: it runs here only when a test calls it.
    t = await startTestService('snapshot', { SNAPSHOT_CRON: '0 0 1 1 *' });
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    db = t.service.database.db;
    await putCourse(t, hr, 'SNAP-1', 'Snapshots 101');
    await defineField(t, hr, 'department', { label: 'Department', type: 'select', options: DEPARTMENTS });
    for (let i = 0; i < 36; i++) {
      const id = await putUser(
        t,
        hr,
        userBody({
          email: `${i % 2 ? 'a' : 'b'}.person${uniq('')}@example.com`,
          type: i % 5 === 0 ? 'staff' : 'learner',
          status: i % 7 === 3 ? 'inactive' : 'active',
          fields: { department: DEPARTMENTS[i % 3] },
        }),
      );
      users.push(id);
      if (i % 4 === 0) await enrol(t, hr, 'SNAP-1', id, { status: i % 8 === 0 ? 'completed' : 'in_progress', enrolledAt: '2026-01-05T09:00:00Z', ...(i % 8 === 0 ? { completedAt: '2026-02-01T09:00:00Z' } : {}) });
    }
    // Policies a preview must apply as a sync does: manual members kept, removed, or kept if staff; inactive users.
    for (const [manualMembers, includeInactive] of [['remove', false], ['keep', true], ['keep-staff', false]] as const) {
      const g = await createGroup(t, admin, { type: 'automatic', rule: rules.field('department', 'Sales'), manualMembers, includeInactive });
      groups.push(g.id);
    }
    const manual = await createGroup(t, admin, { type: 'manual' });
    groups.push(manual.id);
  });
  after(async () => t.stop());

  async function groupDoc(id: string): Promise<GroupDoc> {
    const doc = await GroupModel.findById(id).lean<GroupDoc>();
    if (!doc) throw new Error(`no group ${id}`);
    return doc;
  }

  /** The queries (by collection) and collStats commands sent while `work` runs (findOne goes through find). */
  async function readsDuring(work: () => Promise<unknown>): Promise<{ find: Map<string, number>; collStats: number }> {
    const find = Collection.prototype.find;
    const command = Db.prototype.command;
    const counts = { find: new Map<string, number>(), collStats: 0 };
    Collection.prototype.find = function (this: Collection, ...args: Parameters<typeof find>) {
      counts.find.set(this.collectionName, (counts.find.get(this.collectionName) ?? 0) + 1);
      return find.apply(this, args);
    } as typeof find;
    Db.prototype.command = function (this: Db, ...args: Parameters<typeof command>) {
      if ('collStats' in args[0]) counts.collStats++;
      return command.apply(this, args);
    } as typeof command;
    try {
      await work();
    } finally {
      Collection.prototype.find = find;
      Db.prototype.command = command;
    }
    return counts;
  }

  /** Every planned change as "externalId reason", sorted: the whole plan, not a sample. */
  async function bothPlans(groupId: string, rule?: RuleDocument) {
    const group = toEvalGroup(await groupDoc(groupId), rule);
    const now = new Date();
    const fromDb = await planGroup(group, { now, actor: 'preview' });
    const fromSnapshot = await planFromSnapshot(group, now);
    const lines = (plan: { adds: Array<{ externalId: string; reason: string }>; removes: Array<{ externalId: string; reason: string; membership: { source: string } }> }) => ({
      adds: plan.adds.map((a) => `${a.externalId} ${a.reason}`).sort(),
      removes: plan.removes.map((r) => `${r.externalId} ${r.membership.source} ${r.reason}`).sort(),
    });
    return { fromDb: { ...lines(fromDb), failure: fromDb.failure }, fromSnapshot: { ...lines(fromSnapshot), failure: fromSnapshot.failure } };
  }

  /** Every group, with its stored rule and each proposal: the snapshot plans what the database plans. */
  async function expectSamePlans(step: string): Promise<number> {
    let changes = 0;
    for (const groupId of groups) {
      for (const rule of [undefined, ...PROPOSALS]) {
        const { fromDb, fromSnapshot } = await bothPlans(groupId, rule);
        expect(fromSnapshot, `${step}: group ${groupId}, ${rule ? JSON.stringify(rule) : 'stored rule'}`).to.deep.equal(fromDb);
        changes += fromDb.adds.length + fromDb.removes.length;
      }
    }
    return changes;
  }

  it('when users, enrolments, members, exclusions and rules change through the API, then after each change the preview plans what a sync would plan from the database', async () => {
    const [removeGroup, keepGroup, keepStaffGroup, manualGroup] = groups as [string, string, string, string];
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['nothing changed yet', async () => undefined],
      ['a department changed', () => patchUser(t, hr, users[1]!, { fields: { department: 'Sales' } })],
      ['a user made inactive', () => patchUser(t, hr, users[3]!, { status: 'inactive' })],
      ['a course completed', () => enrol(t, hr, 'SNAP-1', users[5]!, { status: 'completed', enrolledAt: '2026-01-05T09:00:00Z', completedAt: '2026-03-01T09:00:00Z' })],
      ['a user created', async () => users.push(await putUser(t, hr, userBody({ fields: { department: 'Sales' } })))],
      ['a user deleted', () => t.api.delete(`/api/v1/users/${users[0]}`).set(hr).expect(204)],
      ['a batch of users changed', () => t.api.post('/api/v1/users/batch').set(hr).send({ users: users.slice(6, 12).map((externalId, i) => ({ ...userBody(), externalId, fields: { department: DEPARTMENTS[(i + 1) % 3] } })) }).expect(200)],
      ['manual members added', async () => {
        // 201, or 200 where the rule made them a member already.
        const ok = (res: { status: number }) => expect([200, 201]).to.include(res.status);
        for (const g of [removeGroup, keepGroup, keepStaffGroup, manualGroup]) ok(await t.api.put(`/api/v1/groups/${g}/members/${users[10]}`).set(admin));
        ok(await t.api.put(`/api/v1/groups/${keepStaffGroup}/members/${users[15]}`).set(admin));
      }],
      ['a member excluded', () => t.api.put(`/api/v1/groups/${keepGroup}/exclusions/${users[4]}`).set(admin).expect(201)],
      ['a manual member removed', () => t.api.delete(`/api/v1/groups/${manualGroup}/members/${users[10]}`).set(admin).expect(204)],
      ['a rule changed and synced', async () => {
        const res = await t.api.put(`/api/v1/groups/${removeGroup}/rule`).set(admin).set('If-Match', '"1"').send({ rule: rules.field('department', 'People') }).expect(200);
        if (res.body.jobId) await waitForJob(t, admin, res.body.jobId as string);
      }],
      ['a group deleted', async () => {
        const doomed = await createGroup(t, admin, { type: 'automatic', rule: rules.field('department', 'Engineering') });
        await t.api.delete(`/api/v1/groups/${doomed.id}`).set(admin).expect(204);
      }],
    ];
    let changes = 0;
    for (const [step, act] of steps) {
      await act();
      changes += await expectSamePlans(step);
    }
    // The comparison is worth something only if the plans were not all empty.
    expect(changes).to.be.greaterThan(20);
  });

  it('when a process that never read the snapshot previews, then it loads the stored snapshot, catches up, and plans the same', async () => {
    await patchUser(t, hr, users[2]!, { fields: { department: 'People' } });
    await forgetSnapshot();
    await expectSamePlans('fresh process');
    const header = await readHeader();
    expect(header, 'a snapshot is stored').to.not.equal(null);
  });

  it('when a write answers, then a preview started right after it sees the write', async () => {
    const groupId = groups[1]!;
    for (let i = 0; i < 6; i++) {
      const id = users[20 + i]!;
      const department = DEPARTMENTS[i % 3]!;
      await patchUser(t, hr, id, { status: 'active', fields: { department } });
      const res = await t.api.post(`/api/v1/groups/${groupId}/preview`).set(admin).send({ rule: rules.field('department', department) }).expect(200);
      const { fromDb } = await bothPlans(groupId, rules.field('department', department) as RuleDocument);
      expect(res.body.toAdd, `write ${i}`).to.equal(fromDb.adds.length);
      expect(res.body.toRemove, `write ${i}`).to.equal(fromDb.removes.length);
      expect(res.body.sampleAdd).to.deep.equal(fromDb.adds.map((l) => l.split(' ')[0]).sort().slice(0, 10));
    }
  });

  it('when many users change between two previews (edits, deletes, enrolments, members, exclusions), then one catch-up applies them all, reading each changed user and its memberships once', async () => {
    const [, keepGroup, keepStaffGroup, manualGroup] = groups as [string, string, string, string];
    await expectSamePlans('before the changes');
    const from = (await currentSnapshot()).seq;
    const changed = users.slice(30, 36);
    await t.api.post('/api/v1/users/batch').set(hr).send({ users: changed.map((externalId, i) => ({ ...userBody(), externalId, type: i === 2 ? 'staff' : 'learner', fields: { department: DEPARTMENTS[(i + 2) % 3] } })) }).expect(200);
    await enrol(t, hr, 'SNAP-1', changed[0]!, { status: 'completed', enrolledAt: '2026-01-05T09:00:00Z', completedAt: '2026-03-02T09:00:00Z' });
    for (const g of [manualGroup, keepStaffGroup]) expect([200, 201]).to.include((await t.api.put(`/api/v1/groups/${g}/members/${changed[2]}`).set(admin)).status);
    await t.api.put(`/api/v1/groups/${keepGroup}/exclusions/${changed[3]}`).set(admin).expect(201);
    for (const id of changed.slice(4)) await t.api.delete(`/api/v1/users/${id}`).set(hr).expect(204);
    users.splice(34, 2);

    const entries = await readChangesAfter(from);
    const namedUsers = new Set(entries.flatMap((e) => e.users ?? []));
    const namedMemberships = new Set(entries.flatMap((e) => e.memberships ?? []));
    const membershipUsers = new Set([...namedMemberships].map((id) => id.slice(id.indexOf(':') + 1)));
    // Worth something only if users moved in several groups each (one read per membership would show).
    expect(namedMemberships.size).to.be.greaterThan(membershipUsers.size);
    const reads = await readsDuring(() => currentSnapshot());
    expect(reads.find.get('memberships') ?? 0, 'one read per user whose memberships changed').to.equal(membershipUsers.size);
    expect(reads.find.get('users') ?? 0, 'one read per changed user').to.equal(namedUsers.size);
    expect(reads.find.get('change_feed') ?? 0, 'the feed by bucket').to.be.at.most(Math.min(entries.length, FEED_BUCKET) + Math.ceil(entries.length / FEED_BUCKET) + 1);
    expect(reads.collStats, 'no collection size asked').to.equal(0);
    await expectSamePlans('after many changes at once');
  });

  it('when a user is changed behind the service (no feed entry), then previews miss it until the snapshot is rebuilt from the database', async () => {
    const id = users[13]!;
    const before = await db.collection('users').findOne({ _id: id as never });
    const department = before?.fields?.department === 'Sales' ? 'People' : 'Sales';
    await db.collection('users').updateOne({ _id: id as never }, { $set: { 'fields.department': department } });
    const { fromDb, fromSnapshot } = await bothPlans(groups[0]!, rules.field('department', 'Sales') as RuleDocument);
    expect(fromSnapshot).to.not.deep.equal(fromDb);

    const built = await buildSnapshotFromDatabase();
    expect(built.users).to.equal(await db.collection('users').countDocuments());
    expect(built.memberships).to.equal(await db.collection('memberships').countDocuments());
    expect((await readHeader())?.origin).to.equal('database');
    await expectSamePlans('after the rebuild');
  });

  it('when the feed grows past the stored snapshot, then the process stores a new snapshot from memory and prunes the feed', async function () {
    // Hundreds of feed entries written one by one: about 16 s alone, more on a loaded machine.
    this.timeout(90_000);
    await expectSamePlans('before the feed grows');
    const stored = (await readHeader())!;
    // Entries that name existing users: applying them reads those users again and changes nothing.
    for (let i = 0; i < COMPACT_AFTER_ENTRIES; i++) await recordChanges({ users: [users[(i % 30) + 1]!] });
    await expectSamePlans('after many entries');
    let header = (await readHeader())!;
    for (let i = 0; i < 100 && header.gen === stored.gen; i++) {
      await new Promise((r) => setTimeout(r, 50));
      header = (await readHeader())!;
    }
    expect(header.gen).to.not.equal(stored.gen);
    expect(header.origin).to.equal('feed');
    expect(header.seq).to.be.at.least(stored.seq + COMPACT_AFTER_ENTRIES);
    expect(header.prunedTo).to.equal(stored.seq);
    expect(await db.collection('snapshot_chunks').countDocuments({ gen: stored.gen })).to.equal(0);
    expect(await db.collection('change_feed').countDocuments({ _id: { $lte: String(stored.seq).padStart(12, '0') } as never })).to.equal(0);
    await forgetSnapshot();
    await expectSamePlans('a fresh process on the compacted snapshot');
  });

  it('when the refresh job runs after writes, then the stored snapshot reaches the feed head, and again finds nothing to store', async () => {
    await expectSamePlans('before the writes');
    for (let i = 0; i < 3; i++) await patchUser(t, hr, users[27 + i]!, { fields: { department: DEPARTMENTS[(i + 2) % 3] } });
    const head = await feedHeadSeq();
    expect((await readHeader())!.seq).to.be.below(head);
    expect(await refreshStoredSnapshot()).to.deep.equal({ seq: head, stored: true });
    const header = (await readHeader())!;
    expect(header).to.include({ seq: head, origin: 'feed' });
    expect(await refreshStoredSnapshot()).to.deep.equal({ seq: head, stored: false });
    expect((await readHeader())!.gen).to.equal(header.gen);
    await forgetSnapshot();
    await expectSamePlans('a fresh process on the refreshed snapshot');
  });

  it('when a full sync runs, then it is followed by a snapshot rebuilt from the database', async () => {
    const before = (await readHeader())!;
    const res = await t.api.post('/api/v1/sync').set(admin).send({}).expect(202);
    const job = await waitForJob(t, admin, res.body.jobId as string, { timeoutMs: 30_000 });
    const snapshotJob = await waitForJob(t, admin, `${job.id}:snapshot`, { timeoutMs: 30_000 });
    expect(snapshotJob.result).to.include({ users: await db.collection('users').countDocuments() });
    const header = (await readHeader())!;
    expect(header.gen).to.not.equal(before.gen);
    expect(header.origin).to.equal('database');
    await expectSamePlans('after the full sync');
  });

  it('when no snapshot is stored yet, then the refresh job stores none (a preview or the full sync builds the first)', async () => {
    await db.collection('snapshots').deleteMany({});
    await db.collection('snapshot_chunks').deleteMany({});
    await forgetSnapshot();
    const head = await feedHeadSeq();
    // Building one would read the whole directory, in a process that may never preview.
    expect(await refreshStoredSnapshot()).to.deep.equal({ seq: head, stored: false });
    expect(await readHeader()).to.equal(null);
    await buildSnapshotFromDatabase();
    await expectSamePlans('after the first snapshot is built');
  });

  it('when snapshots stored while this process built its own from the database pruned feed entries after it, then it holds the current one instead and misses no change', async () => {
    // No snapshot stored: the next preview builds one from the database and holds it.
    await db.collection('snapshots').deleteMany({});
    await db.collection('snapshot_chunks').deleteMany({});
    await forgetSnapshot();
    const builtAt = await feedHeadSeq();
    // The build is held at its first chunk, when it has read every user (36 fill one chunk, written at its end).
    const insertOne = Collection.prototype.insertOne;
    let reached!: () => void;
    const atFirstChunk = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    Collection.prototype.insertOne = function (this: Collection, ...args: Parameters<typeof insertOne>) {
      if (this.collectionName === 'snapshot_chunks' && String((args[0] as { _id?: unknown })._id).startsWith(`${builtAt}-`)) {
        reached();
        return gate.then(() => insertOne.apply(this, args)) as ReturnType<typeof insertOne>;
      }
      return insertOne.apply(this, args);
    } as typeof insertOne;
    let previewing: Promise<unknown> | undefined;
    const id = users[6]!;
    try {
      previewing = currentSnapshot();
      await atFirstChunk;
      // Meanwhile a user changes (its feed entry comes after the build's number), and two snapshots are stored from
      // the database: the second prunes the feed up to the first's number, the user's entry with it.
      const was = (await db.collection('users').findOne({ _id: id as never }))!.fields.department as string;
      await patchUser(t, hr, id, { fields: { department: DEPARTMENTS[(DEPARTMENTS.indexOf(was) + 1) % 3] } });
      await buildSnapshotFromDatabase();
      await recordChanges({ users: [users[7]!] });
      await buildSnapshotFromDatabase();
    } finally {
      release();
      Collection.prototype.insertOne = insertOne;
    }
    await previewing;
    const current = (await readHeader())!;
    expect(current.prunedTo, 'the feed was pruned past the build').to.be.greaterThan(builtAt);
    expect(current.gen.startsWith(`${builtAt}-`), 'the late build did not become current').to.equal(false);
    // What this process holds is the current snapshot, caught up: the changed user as stored.
    const stored = await db.collection('users').findOne({ _id: id as never });
    expect((await currentSnapshot()).users.get(id)).to.deep.equal(toUserFacts(stored as never));
    await expectSamePlans('after a build overtaken by two snapshots');
  });
});
