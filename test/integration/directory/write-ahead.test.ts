// A single directory write cut off after it stored (the connection breaks before the request can react): the
// request answers 503, the user's version was claimed in the outbox before the write, and the replay job gives the
// user their membership, though the client's retry finds nothing to change. The fault is injected after a real write.
import { expect } from 'chai';
import { MongoNetworkError } from 'mongodb';
import { startTestService, type TestService } from '../../helpers/service.js';
import { usersCollection } from '../../../src/directory/user-store.js';
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
});
