// The outbox's guarantee where a writer fails or dies part-way: a membership change that happened reaches the change
// log once, even when its writer never runs again (a hand edit), and one that did not happen is never announced nor
// left in history. The crashed states are written to the database as the dead writer would have left them; a failing
// delete is a fault injected into the database adapter for one call.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { createGroup, putUser, userBody, type Auth } from '../membership/membership-helpers.js';
import { finishIntent, memberships, removeMemberships } from '../../../src/membership/membership-store.js';
import { closeIntents, finishStaleIntents, INTENT_GRACE_MS, openIntents } from '../../../src/changes/log-intents.js';
import { appendToLog } from '../../../src/changes/change-log.js';
import { db as adapter } from '../../../src/platform/db/index.js';
import type { HistoryDoc } from '../../../src/membership/membership.model.js';

describe('Outbox: a membership write that fails or dies part-way announces exactly what happened', () => {
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  const db = () => t.service.database.db;

  before(async () => {
    t = await startTestService('outbox-intents');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
  });
  after(async () => t.stop());

  const cursorNow = async (): Promise<string> => (await t.api.get('/api/v1/changes').set(admin).expect(200)).body.nextCursor as string;
  const changesAfter = async (cursor: string): Promise<Array<{ id: string; type: string; externalId: string }>> => {
    const items = [];
    for (;;) {
      const res = await t.api.get('/api/v1/changes').query({ cursor }).set(admin).expect(200);
      items.push(...res.body.items);
      if (res.body.nextCursor === cursor) return items;
      cursor = res.body.nextCursor;
    }
  };
  const timesLogged = async (historyId: string): Promise<number> => db().collection('membership_change_log').countDocuments({ events: historyId });
  const sweepLater = () => finishStaleIntents(finishIntent, new Date(Date.now() + INTENT_GRACE_MS + 1000));
  const entry = (over: Partial<HistoryDoc> & Pick<HistoryDoc, '_id' | 'group' | 'externalId' | 'action'>): HistoryDoc => ({
    at: new Date(),
    source: 'manual',
    actor: 'test',
    reason: 'by hand',
    ...over,
  });

  it('when a hand removal\'s delete fails, then nothing is announced or recorded, the member stays, and the retried removal is announced once', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const user = await putUser(t, hr, userBody());
    await t.api.put(`/api/v1/groups/${group.id}/members/${user}`).set(admin).expect((r) => expect(r.status).to.be.oneOf([200, 201]));
    const cursor = await cursorNow();
    const database = adapter();
    const deleteByIds = database.deleteByIds;
    const original = deleteByIds.bind(database);
    let failures = 1;
    database.deleteByIds = (async (coll: { collectionName: string }, ids: readonly string[]) => {
      if (coll.collectionName === 'memberships' && failures-- > 0) throw new Error('injected: the database went away during the delete');
      return original(coll as never, ids);
    }) as typeof deleteByIds;
    try {
      const res = await t.api.delete(`/api/v1/groups/${group.id}/members/${user}`).set(admin);
      expect(res.status).to.be.at.least(500);
    } finally {
      database.deleteByIds = deleteByIds;
    }
    expect(await memberships().findOne({ group: group.id, externalId: user })).to.not.equal(null);
    expect(await changesAfter(cursor)).to.deep.equal([]);
    const history = await t.api.get(`/api/v1/groups/${group.id}/history`).set(admin).expect(200);
    expect((history.body.items as Array<{ action: string }>).map((h) => h.action)).to.deep.equal(['added']);
    expect(await db().collection('membership_log_intents').countDocuments({})).to.equal(0);

    await t.api.delete(`/api/v1/groups/${group.id}/members/${user}`).set(admin).expect(204);
    const items = await changesAfter(cursor);
    expect(items.map((c) => [c.type, c.externalId])).to.deep.equal([['membership.removed', user]]);
    expect(await timesLogged(items[0]!.id)).to.equal(1);
  });

  it('when a hand addition died after storing the membership, before its history and the log, then the sweep records and announces it once', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const user = await putUser(t, hr, userBody());
    const cursor = await cursorNow();
    const at = new Date();
    const added = entry({ _id: `${group.id}:${user}:${at.getTime()}:added`, at, group: group.id, externalId: user, action: 'added', run: 'dead-hand-edit' });
    // What the dead writer left: its intent and the membership it inserted; no history entry, no log entry.
    await openIntents('dead-hand-edit', [{ entry: added }], new Date(Date.now() - INTENT_GRACE_MS - 1000));
    await db().collection('memberships').insertOne({ _id: `${group.id}:${user}` as never, group: group.id, externalId: user, source: 'manual', addedAt: at, run: 'dead-hand-edit' });
    expect(await changesAfter(cursor)).to.deep.equal([]);

    expect((await finishStaleIntents(finishIntent)).settled).to.be.at.least(1);
    expect((await changesAfter(cursor)).map((c) => [c.type, c.externalId])).to.deep.equal([['membership.added', user]]);
    expect(await db().collection('membership_history').findOne({ _id: added._id as never })).to.include({ reason: 'by hand', action: 'added' });
    await sweepLater();
    expect(await timesLogged(added._id)).to.equal(1);
    expect(await db().collection('membership_log_intents').countDocuments({ run: 'dead-hand-edit' })).to.equal(0);
  });

  it('when a writer died after a removal\'s history entry and before the delete, then the sweep takes the entry back and announces nothing', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const user = await putUser(t, hr, userBody());
    await t.api.put(`/api/v1/groups/${group.id}/members/${user}`).set(admin).expect((r) => expect(r.status).to.be.oneOf([200, 201]));
    const membership = (await memberships().findOne({ group: group.id, externalId: user }))!;
    const cursor = await cursorNow();
    const removed = entry({ _id: `${group.id}:${user}:${membership.addedAt.getTime()}:removed`, group: group.id, externalId: user, action: 'removed', run: 'dead-remover' });
    await openIntents('dead-remover', [{ entry: removed, removedAddedAt: membership.addedAt }], new Date(Date.now() - INTENT_GRACE_MS - 1000));
    await db().collection('membership_history').insertOne(removed as never);

    await sweepLater();
    expect(await db().collection('membership_history').findOne({ _id: removed._id as never })).to.equal(null);
    expect(await changesAfter(cursor)).to.deep.equal([]);
    expect(await memberships().findOne({ _id: membership._id })).to.not.equal(null);
  });

  it('when another writer removes a membership whose first remover has not logged yet, then the log names the removal once', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const user = await putUser(t, hr, userBody());
    await t.api.put(`/api/v1/groups/${group.id}/members/${user}`).set(admin).expect((r) => expect(r.status).to.be.oneOf([200, 201]));
    const membership = (await memberships().findOne({ group: group.id, externalId: user }))!;
    const cursor = await cursorNow();
    // Writer A has opened its intent and stored the removal's history entry; it is about to delete and log.
    const removed = entry({ _id: `${group.id}:${user}:${membership.addedAt.getTime()}:removed`, group: group.id, externalId: user, action: 'removed', run: 'remover-a' });
    const intent = await openIntents('remover-a', [{ entry: removed, removedAddedAt: membership.addedAt }]);
    await db().collection('membership_history').insertOne(removed as never);
    // Writer B removes the same membership meanwhile: its history insert loses to A's.
    await removeMemberships([{ groupId: group.id, externalId: user, membership, ruleVersion: 0, reason: 'gone', actor: 'test' }], { runKey: 'remover-b', at: new Date() });
    // A finishes as a live writer does: it logs its entry and closes its intent.
    await appendToLog([{ id: removed._id, group: group.id, run: 'remover-a' }]);
    await closeIntents(intent);
    await sweepLater();
    expect(await timesLogged(removed._id)).to.equal(1);
    expect((await changesAfter(cursor)).map((c) => [c.type, c.externalId])).to.deep.equal([['membership.removed', user]]);
  });
});
