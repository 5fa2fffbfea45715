// A single directory write cut off after it stored (the connection breaks before the request can react): the
// request answers 503, the user's version was claimed in the outbox before the write, and the replay job gives the
// user their membership, though the client's retry finds nothing to change. The fault is injected after a real write.
import { expect } from 'chai';
import { MongoNetworkError } from 'mongodb';
import { startTestService, type TestService } from '../../helpers/service.js';
import { usersCollection } from '../../../src/directory/user-store.js';
import { pruneEvents } from '../../../src/directory/user-events.js';
import { createGroup, defineField, historyOf, memberIds, putCourse, rules, userBody, type Auth } from '../membership/membership-helpers.js';

/** The next call of the collection's method writes for real, then throws as if the connection broke. */
function breakAfterNext(method: 'insertOne' | 'bulkWrite'): () => void {
  const coll = usersCollection() as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = coll[method]!;
  coll[method] = async function (this: unknown, ...args: unknown[]) {
    coll[method] = original;
    await original.apply(this, args);
    throw new MongoNetworkError('injected: connection closed after the write');
  };
  return () => {
    coll[method] = original;
  };
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Directory: writes whose version is claimed before they are made', function () {
  this.timeout(60_000);
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  before(async () => {
    t = await startTestService('writeahead');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    await defineField(t, hr, 'department', { label: 'Department', type: 'text' });
    await putCourse(t, hr, 'WA-1', 'Write ahead');
  });
  after(async () => t.stop());

  it('when a user PUT is cut off after its insert, then 503, and the replay makes them a member; the retry changes nothing; one history entry', async () => {
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('department', 'Sales') });
    const user = userBody({ fields: { department: 'Sales' } });
    const restore = breakAfterNext('insertOne');
    try {
      const cut = await t.api.put(`/api/v1/users/${user.externalId}`).set(hr).send(user).expect(503);
      expect(cut.headers['retry-after']).to.equal('2');
    } finally {
      restore();
    }
    expect(await usersCollection().countDocuments({ _id: user.externalId })).to.equal(1);
    await t.api.put(`/api/v1/users/${user.externalId}`).set(hr).send(user).expect(200);
    await until(async () => (await memberIds(t, admin, group.id)).includes(user.externalId), 20_000);
    expect(await memberIds(t, admin, group.id)).to.deep.equal([user.externalId]);
    expect((await historyOf(t, admin, group.id)).map((h) => `${h.externalId}:${h.action}`)).to.deep.equal([`${user.externalId}:added`]);
  });

  it('when an enrolment PUT is cut off after its update, then the replay applies its membership', async () => {
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.completed('WA-1') });
    const user = userBody();
    await t.api.put(`/api/v1/users/${user.externalId}`).set(hr).send(user).expect(201);
    // Path updates (an enrolment) are written as a bulk update by _id (user-writes.ts, updateUsers).
    const restore = breakAfterNext('bulkWrite');
    try {
      await t.api.put(`/api/v1/courses/WA-1/enrollments/${user.externalId}`).set(hr).send({ status: 'completed' }).expect(503);
    } finally {
      restore();
    }
    await t.api.put(`/api/v1/courses/WA-1/enrollments/${user.externalId}`).set(hr).send({ status: 'completed' }).expect(200);
    await until(async () => (await memberIds(t, admin, group.id)).includes(user.externalId), 20_000);
    expect(await memberIds(t, admin, group.id)).to.deep.equal([user.externalId]);
  });

  it('when a users batch of new users is cut off after its insert, then what it owes makes them members, and a user it names who was stored before is not taken for created', async () => {
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('department', 'Sales') });
    const old = userBody({ fields: { department: 'Marketing' } });
    await t.api.put(`/api/v1/users/${old.externalId}`).set(hr).send(old).expect(201);
    // A day later its events are gone (user-events.ts keeps them a day), so its version 1 can be claimed again.
    await pruneEvents(new Date(Date.now() + 25 * 3600_000));
    const welcome = await createGroup(t, admin, { type: 'manual', isDefault: true });
    const fresh = Array.from({ length: 19 }, () => userBody({ fields: { department: 'Sales' } }));
    // Twenty records, the stored user last: the batch's sample (its first sixteen) finds it new, so all twenty are
    // inserted without being read, and the stored user's insert is refused by its _id.
    const records = [...fresh, old];
    const coll = usersCollection() as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const original = coll.insertMany!;
    coll.insertMany = async function (this: unknown, ...args: unknown[]) {
      coll.insertMany = original;
      await original.apply(this, args).catch(() => undefined);
      throw new MongoNetworkError('injected: connection closed after the insert');
    };
    try {
      await t.api.post('/api/v1/users/batch').set(hr).send({ users: records }).expect(503);
    } finally {
      coll.insertMany = original;
    }
    // The retry finds every user stored and unchanged, and applies first what the cut-off write still owes.
    const retry = await t.api.post('/api/v1/users/batch').set(hr).send({ users: records }).expect(200);
    expect(retry.body).to.include({ created: 0, updated: 0, unchanged: 20, failed: 0 });
    const ids = fresh.map((u) => u.externalId).sort();
    // (The group also holds the Sales user of the first test.)
    const batchMembers = async (groupId: string) => (await memberIds(t, admin, groupId)).filter((id) => records.some((r) => r.externalId === id)).sort();
    await until(async () => (await batchMembers(group.id)).length === ids.length, 20_000);
    expect(await batchMembers(group.id)).to.deep.equal(ids);
    // The owed write told the stored user from the new ones by when they were created: not a new user, so not in
    // the default group, and no creation in its recent changes.
    expect(await memberIds(t, admin, welcome.id)).to.have.members(ids);
    expect(await memberIds(t, admin, welcome.id)).to.have.length(ids.length);
    const events = await t.service.database.db.collection('user_events').find({ user: old.externalId }).toArray();
    expect(events).to.deep.equal([]);
  });
});
