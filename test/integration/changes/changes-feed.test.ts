// The changes feed (GET /api/v1/changes) and the outbox under it: every membership change, whatever wrote it, in the
// order of the change log, once; a change committed late (a writer whose instant is long past) is still after a
// cursor handed out before it; a writer's re-run logs what its crash left unlogged and nothing twice.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { createGroup, putUser, userBody, type Auth } from '../membership/membership-helpers.js';
import { addMemberships, removeMemberships, memberships } from '../../../src/membership/membership-store.js';
import { appendToLog, pruneLog, LOG_RETENTION_MS, MAX_EVENTS_PER_ENTRY } from '../../../src/changes/change-log.js';

interface Change {
  id: string;
  at: string;
  type: string;
  groupId: string;
  externalId: string;
  source: string;
  reason: string;
}

describe('Changes feed: membership changes after a cursor, oldest first, from the outbox', () => {
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  const db = () => t.service.database.db;

  before(async () => {
    t = await startTestService('changes');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
  });
  after(async () => t.stop());

  const cursorNow = async (): Promise<string> => {
    const res = await t.api.get('/api/v1/changes').set(admin).expect(200);
    expect(res.body.items).to.deep.equal([]);
    expect(res.body.nextCursor).to.be.a('string');
    return res.body.nextCursor as string;
  };

  /** Every change after `cursor`, following nextCursor page by page; returns them and the last cursor. */
  const readAll = async (cursor: string, query: Record<string, string> = {}, auth: Auth = admin): Promise<{ items: Change[]; cursor: string }> => {
    const items: Change[] = [];
    for (;;) {
      const res = await t.api.get('/api/v1/changes').query({ ...query, cursor }).set(auth).expect(200);
      items.push(...(res.body.items as Change[]));
      expect(res.body.nextCursor).to.be.a('string');
      if (res.body.nextCursor === cursor) return { items, cursor };
      cursor = res.body.nextCursor as string;
    }
  };

  it('when members are added by hand and removed, then the feed lists each change once, in order, with its reason', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const users = [await putUser(t, hr, userBody()), await putUser(t, hr, userBody())];
    const cursor = await cursorNow();
    await t.api.put(`/api/v1/groups/${group.id}/members/${users[0]}`).set(admin).expect((r) => expect(r.status).to.be.oneOf([200, 201]));
    await t.api.put(`/api/v1/groups/${group.id}/members/${users[1]}`).set(admin).expect((r) => expect(r.status).to.be.oneOf([200, 201]));
    await t.api.delete(`/api/v1/groups/${group.id}/members/${users[0]}`).set(admin).expect(204);
    const { items } = await readAll(cursor);
    expect(items.map((c) => [c.type, c.externalId, c.groupId, c.source])).to.deep.equal([
      ['membership.added', users[0], group.id, 'manual'],
      ['membership.added', users[1], group.id, 'manual'],
      ['membership.removed', users[0], group.id, 'manual'],
    ]);
    expect(items[2]!.reason).to.equal('removed by hand');
    // The ids are the history entries': what the outbox stores, not a copy.
    const stored = await db().collection('membership_history').find({ _id: { $in: items.map((c) => c.id) } as never }).toArray();
    expect(stored).to.have.length(3);
  });

  it('when a rule adds members, then the feed pages through them with a small limit, none twice, and a groups filter keeps only that group', async () => {
    const site = `site${Date.now().toString(36)}`;
    await t.api.put('/api/v1/fields/site').set(hr).send({ label: 'Site', type: 'text' }).expect((r) => expect(r.status).to.be.oneOf([200, 201]));
    const users = await Promise.all(Array.from({ length: 12 }, () => putUser(t, hr, userBody({ fields: { site } }))));
    const other = await createGroup(t, admin, { type: 'manual' });
    const cursor = await cursorNow();
    const group = await createGroup(t, admin, { type: 'automatic', rule: { conditions: { all: [{ fact: 'field', params: { key: 'site' }, operator: 'equal', value: site }] } } });
    await t.api.put(`/api/v1/groups/${other.id}/members/${users[0]}`).set(admin).expect((r) => expect(r.status).to.be.oneOf([200, 201]));
    const all = await readAll(cursor, { limit: '5' });
    expect(all.items.filter((c) => c.groupId === group.id).map((c) => c.externalId).sort()).to.deep.equal([...users].sort());
    expect(new Set(all.items.map((c) => c.id)).size).to.equal(all.items.length);
    expect(all.items.every((c) => c.type === 'membership.added' && (c.groupId === other.id || c.source === 'rule'))).to.equal(true);
    const filtered = await readAll(cursor, { groups: other.id, limit: '5' }, await t.auth('integration'));
    expect(filtered.items.map((c) => [c.groupId, c.externalId])).to.deep.equal([[other.id, users[0]]]);
  });

  it('when a writer whose instant is long past commits after a cursor was handed out, then the change is after that cursor', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const user = await putUser(t, hr, userBody());
    const cursor = await cursorNow();
    // A job queued ten minutes ago writes now: its history `at` is older than the cursor, its log entry is not.
    const at = new Date(Date.now() - 10 * 60_000);
    await addMemberships([{ groupId: group.id, externalId: user, ruleVersion: 0, reason: 'late writer', actor: 'test', source: 'manual' }], { runKey: 'late-job', at });
    const { items } = await readAll(cursor);
    expect(items.map((c) => [c.externalId, c.at])).to.deep.equal([[user, at.toISOString()]]);
  });

  it('when a writer died between its history and the log, then its re-run logs the change once, and a second re-run adds nothing', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const user = await putUser(t, hr, userBody());
    const cursor = await cursorNow();
    const ctx = { runKey: 'crashing-job', at: new Date() };
    const add = [{ groupId: group.id, externalId: user, ruleVersion: 0, reason: 'job', actor: 'test', source: 'manual' as const }];
    // What the writer stored before it died: the membership and its history entry, and no log entry.
    await db().collection('memberships').insertOne({ _id: `${group.id}:${user}` as never, group: group.id, externalId: user, source: 'manual', addedAt: ctx.at, run: ctx.runKey });
    await db().collection('membership_history').insertOne({ _id: `${group.id}:${user}:${ctx.at.getTime()}:added` as never, at: ctx.at, group: group.id, externalId: user, action: 'added', source: 'manual', actor: 'test', reason: 'job', run: ctx.runKey });
    expect((await readAll(cursor)).items).to.deep.equal([]);
    await addMemberships(add, ctx);
    await addMemberships(add, ctx);
    const { items } = await readAll(cursor);
    expect(items.map((c) => [c.type, c.externalId])).to.deep.equal([['membership.added', user]]);
  });

  it('when two writers remove the same membership, then the feed has the removal once', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const user = await putUser(t, hr, userBody());
    await t.api.put(`/api/v1/groups/${group.id}/members/${user}`).set(admin).expect((r) => expect(r.status).to.be.oneOf([200, 201]));
    const membership = (await memberships().findOne({ group: group.id, externalId: user }))!;
    const cursor = await cursorNow();
    const remove = [{ groupId: group.id, externalId: user, membership, ruleVersion: 0, reason: 'gone', actor: 'test' }];
    await removeMemberships(remove, { runKey: 'first', at: new Date() });
    await removeMemberships(remove, { runKey: 'second', at: new Date() });
    const { items } = await readAll(cursor);
    expect(items.map((c) => [c.type, c.externalId])).to.deep.equal([['membership.removed', user]]);
  });

  it('when a removal is logged before the addition it undoes (the adder slow to log), then the feed lists the addition first', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const user = await putUser(t, hr, userBody());
    const cursor = await cursorNow();
    const at = new Date();
    // Writer A stored the membership and its history, and has not logged it yet.
    await db().collection('memberships').insertOne({ _id: `${group.id}:${user}` as never, group: group.id, externalId: user, source: 'manual', addedAt: at, run: 'slow-adder' });
    const addedId = `${group.id}:${user}:${at.getTime()}:added`;
    await db().collection('membership_history').insertOne({ _id: addedId as never, at, group: group.id, externalId: user, action: 'added', source: 'manual', actor: 'test', reason: 'slow', run: 'slow-adder' });
    // Writer B removes it meanwhile, and logs first; then A logs.
    const membership = (await memberships().findOne({ group: group.id, externalId: user }))!;
    await removeMemberships([{ groupId: group.id, externalId: user, membership, ruleVersion: 0, reason: 'gone', actor: 'test' }], { runKey: 'fast-remover', at: new Date() });
    await appendToLog([{ id: addedId, group: group.id, run: 'slow-adder' }]);
    const { items } = await readAll(cursor);
    expect(items.map((c) => c.type)).to.deep.equal(['membership.added', 'membership.removed']);
  });

  it('when one write logs more changes than an entry holds, then they go into consecutive entries of at most MAX_EVENTS_PER_ENTRY, in order', async () => {
    const ids = Array.from({ length: MAX_EVENTS_PER_ENTRY * 2 + 10 }, (_, i) => `grp_0000000000000000:bulk${String(i).padStart(6, '0')}:1:added`);
    const before = new Set((await db().collection('membership_change_log').find({}, { projection: { _id: 1 } }).toArray()).map((e) => String(e._id)));
    await appendToLog(ids.map((id) => ({ id, group: 'grp_0000000000000000', run: 'bulk' })));
    const entries = (await db().collection('membership_change_log').find({ runs: 'bulk' }).toArray()).filter((e) => !before.has(String(e._id))).sort((a, b) => Number(a._id) - Number(b._id));
    expect(entries.map((e) => (e.events as string[]).length)).to.deep.equal([MAX_EVENTS_PER_ENTRY, MAX_EVENTS_PER_ENTRY, 10]);
    expect(entries.map((e) => Number(e._id) - Number(entries[0]!._id))).to.deep.equal([0, 1, 2]);
    expect(entries.flatMap((e) => e.events as string[])).to.deep.equal(ids);
  });

  it('when a cursor is older than the log keeps, then it is a 410; a bad cursor or group list is a 400 naming the field; hr-feed may not read', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const users = [await putUser(t, hr, userBody()), await putUser(t, hr, userBody())];
    const cursor = await cursorNow();
    for (const user of users) await t.api.put(`/api/v1/groups/${group.id}/members/${user}`).set(admin).expect((r) => expect(r.status).to.be.oneOf([200, 201]));
    const fresh = await cursorNow();
    // Nine days on: every entry but the newest is pruned.
    expect(await pruneLog(new Date(Date.now() + LOG_RETENTION_MS + 24 * 3600_000))).to.be.greaterThan(0);
    const gone = await t.api.get('/api/v1/changes').query({ cursor }).set(admin).expect(410);
    expect(gone.body.detail).to.match(/expired/);
    await t.api.get('/api/v1/changes').query({ cursor: fresh }).set(admin).expect(200);
    const bad = await t.api.get('/api/v1/changes').query({ cursor: 'nope', groups: 'x,y', limit: '0' }).set(admin).expect(400);
    expect((bad.body.errors as Array<{ path: string }>).map((e) => e.path).sort()).to.deep.equal(['groups', 'limit']);
    const badCursor = await t.api.get('/api/v1/changes').query({ cursor: 'nope' }).set(admin).expect(400);
    expect(badCursor.body.errors[0].path).to.equal('cursor');
    await t.api.get('/api/v1/changes').set(hr).expect(403);
  });
});
