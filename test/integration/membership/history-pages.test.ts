// History pages on the embedded database are read by time slot (history-slots.ts): each entry carries the second of
// its instant, markers name the group's days, hours and seconds, and a page walks them newest first. Paging through
// gives every entry once, in the order of a read of the whole group (instant, then `_id`, newest first), whatever
// the instants: bursts at one instant, seconds apart, hours and days apart, and more slots than a page reads before
// it reads the rest from the whole group. Entries stored before slots existed are given theirs at start.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { createGroup, type Auth } from './membership-helpers.js';
import { addMemberships, fillMissingHistorySlots, forgetGroup, removeMemberships } from '../../../src/membership/membership-store.js';
import { historySlot, historySlotsMark } from '../../../src/membership/history-slots.js';

interface Entry {
  _id: string;
  at: Date;
  externalId: string;
  action: string;
  slot?: string;
}

describe('History pages by time slot', function () {
  this.timeout(120_000);
  let t: TestService;
  let admin: Auth;
  let groupId: string;
  const db = () => t.service.database.db;
  const stored = async () => db().collection<Entry>('membership_history').find({ group: groupId }).toArray();
  const newestFirst = (a: Entry, b: Entry) => b.at.getTime() - a.at.getTime() || (a._id < b._id ? 1 : a._id > b._id ? -1 : 0);

  /** Every page of the group's history, `limit` at a time: the entries as [externalId, action, at]. */
  async function pageThrough(limit: number, query: Record<string, string> = {}): Promise<string[]> {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await t.api.get(`/api/v1/groups/${groupId}/history`).query({ limit, ...query, ...(cursor ? { cursor } : {}) }).set(admin).expect(200);
      for (const h of res.body.items as Array<{ externalId: string; action: string; at: string }>) seen.push(`${h.externalId} ${h.action} ${h.at}`);
      cursor = res.body.nextCursor as string | null;
      pages++;
    } while (cursor && pages < 200);
    return seen;
  }
  const expected = (entries: Entry[]) => entries.sort(newestFirst).map((h) => `${h.externalId} ${h.action} ${h.at.toISOString()}`);

  before(async () => {
    t = await startTestService('history-pages');
    admin = await t.auth('admin');
    groupId = (await createGroup(t, admin, { type: 'manual' })).id;
    const day = Date.UTC(2026, 10, 2, 9, 0, 0);
    // Instants: a burst of 30 at one instant, 40 single entries a second apart (more slots than a page reads before
    // it reads the rest from the whole group), entries hours and days apart, two in one second at different
    // milliseconds, and removals of some of them later.
    const writes: Array<{ at: number; users: string[] }> = [{ at: day, users: Array.from({ length: 30 }, (_, i) => `burst${String(i).padStart(2, '0')}`) }];
    for (let i = 0; i < 40; i++) writes.push({ at: day + 3_600_000 + i * 1000, users: [`sec${String(i).padStart(2, '0')}`] });
    for (let i = 0; i < 6; i++) writes.push({ at: day + 86_400_000 * (1 + (i % 3)) + 3_600_000 * i, users: [`far${i}`] });
    writes.push({ at: day + 7_200_000 + 10, users: ['ms-a'] }, { at: day + 7_200_000 + 990, users: ['ms-b'] });
    for (const w of writes) {
      const at = new Date(w.at);
      await addMemberships(
        w.users.map((externalId) => ({ groupId, externalId, ruleVersion: 0, reason: 'by hand', actor: 'test', source: 'manual' as const })),
        { runKey: `test:${w.at}`, at },
      );
    }
    const removedAt = new Date(day + 5 * 86_400_000);
    const leaving = ['burst03', 'sec07', 'far2'];
    const current = await db().collection<{ _id: string; externalId: string; source: 'manual'; addedAt: Date }>('memberships').find({ group: groupId, externalId: { $in: leaving } }).toArray();
    await removeMemberships(
      current.map((m) => ({ groupId, externalId: m.externalId, membership: { source: m.source, addedAt: m.addedAt }, ruleVersion: 0, reason: 'removed by hand', actor: 'test' })),
      { runKey: 'test:removals', at: removedAt },
    );
  });
  after(async () => t.stop());

  it('when entries are written, then each carries its slot and the markers name its second, hour and day', async () => {
    const entries = await stored();
    expect(entries).to.have.length(81);
    for (const h of entries) expect(h.slot, h._id).to.equal(historySlot(groupId, h.at));
    const slot = historySlot(groupId, new Date(Date.UTC(2026, 10, 2, 9, 0, 0)));
    expect(slot).to.equal(`${groupId}:2026-11-02T09:00:00`);
    const markers = await db().collection<{ _id: string; parent: string }>('membership_history_slots').find({ _id: { $in: [slot, `${groupId}:2026-11-02T09`, `${groupId}:2026-11-02`] } }).toArray();
    expect(markers.map((m) => [m._id, m.parent]).sort()).to.deep.equal([
      [`${groupId}:2026-11-02`, groupId],
      [`${groupId}:2026-11-02T09`, `${groupId}:2026-11-02`],
      [slot, `${groupId}:2026-11-02T09`],
    ]);
    expect(await historySlotsMark.isComplete()).to.equal(true);
  });

  for (const limit of [1, 7, 50, 500]) {
    it(`when the history is paged through ${limit} at a time, then every entry comes once, newest first, as a read of the whole group orders them`, async () => {
      const seen = await pageThrough(limit);
      expect(seen).to.deep.equal(expected(await stored()));
    });
  }

  it('when only removals are asked for, then the pages hold exactly them, in order', async () => {
    expect(await pageThrough(2, { action: 'removed' })).to.deep.equal(expected((await stored()).filter((h) => h.action === 'removed')));
    expect(await pageThrough(5, { action: 'added' })).to.deep.equal(expected((await stored()).filter((h) => h.action === 'added')));
  });

  it('when one user is asked for, then only their entries come, newest first', async () => {
    expect(await pageThrough(1, { externalId: 'sec07' })).to.deep.equal(expected((await stored()).filter((h) => h.externalId === 'sec07')));
  });

  it('when entries were stored before slots existed, then filling in gives each its slot and markers, once, and pages are whole again', async () => {
    await db().collection('membership_history').updateMany({ group: groupId }, { $unset: { slot: '' } });
    await db().collection('membership_history_slots').deleteMany({});
    await db().collection('settings').deleteOne({ _id: 'history-slots' as never });
    expect(await fillMissingHistorySlots()).to.equal(81);
    expect(await historySlotsMark.isComplete()).to.equal(true);
    for (const h of await stored()) expect(h.slot, h._id).to.equal(historySlot(groupId, h.at));
    expect(await fillMissingHistorySlots(), 'a second run finds the record').to.equal(0);
    expect(await pageThrough(9)).to.deep.equal(expected(await stored()));
  });

  it('when a cursor is not one the service issued, then it is a 400 naming the cursor', async () => {
    const bad = Buffer.from(JSON.stringify({ a: 'not-a-cursor' }), 'utf8').toString('base64url');
    const res = await t.api.get(`/api/v1/groups/${groupId}/history`).query({ cursor: bad }).set(admin).expect(400);
    expect(res.body.errors[0].path).to.equal('cursor');
  });

  it('when the group is forgotten, then its slot markers go with its history', async () => {
    await forgetGroup(groupId);
    expect(await db().collection('membership_history_slots').countDocuments(), 'the only group with history').to.equal(0);
  });
});
