// Members pages of a large group on the embedded database are read bucket by bucket (membership.model.ts,
// pageBucket): each membership carries its bucket, paging through gives every member exactly once, and memberships
// stored before buckets existed are given theirs at start, before pages are read by bucket.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { createGroup, defineField, userBody, type Auth } from './membership-helpers.js';
import { PAGE_BUCKETS, membershipPage, pageBucket } from '../../../src/membership/membership.model.js';
import { fillMissingPages, membershipPagesMark } from '../../../src/membership/membership-store.js';

const USERS = 2100;

describe('Members pages by bucket', function () {
  this.timeout(180_000);
  let t: TestService;
  let admin: Auth;
  let groupId: string;
  const ids: string[] = [];
  const db = () => t.service.database.db;
  const cursorOf = (next: string) => (JSON.parse(Buffer.from(next, 'base64url').toString('utf8')) as { a: string }).a;

  before(async () => {
    t = await startTestService('member-pages');
    admin = await t.auth('admin');
    const hr = await t.auth('hr-feed');
    await defineField(t, hr, 'site', { label: 'Site', type: 'text' });
    const users = Array.from({ length: USERS }, (_, i) => userBody({ externalId: `p${String(i).padStart(5, '0')}`, fields: { site: i % 3 === 0 ? 'north' : 'south' } }));
    await t.api.post('/api/v1/users/batch').set(hr).send({ users }).expect(200);
    for (const u of users) ids.push(u.externalId);
    const group = await createGroup(t, admin, { type: 'automatic', rule: { conditions: { all: [{ fact: 'field', params: { key: 'site' }, operator: 'notEqual', value: 'nowhere' }] } } });
    groupId = group.id;
  });
  after(async () => t.stop());

  it('when a large group is paged through, then each member comes once, bucket by bucket in externalId order, each stored with its bucket', async () => {
    const stored = await db().collection('memberships').find({ group: groupId }).toArray();
    expect(stored).to.have.length(USERS);
    for (const m of stored) expect(m.page, m._id as unknown as string).to.equal(membershipPage(groupId, pageBucket(m.externalId as string)));

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await t.api.get(`/api/v1/groups/${groupId}/members`).query({ limit: 500, ...(cursor ? { cursor } : {}) }).set(admin).expect(200);
      for (const m of res.body.items as Array<{ externalId: string }>) seen.push(m.externalId);
      cursor = res.body.nextCursor as string | null;
      if (cursor) expect(cursorOf(cursor), 'a bucket-order cursor').to.match(/^#\d{2}:/);
      pages++;
    } while (cursor && pages < 20);
    expect(seen).to.have.length(USERS);
    expect(new Set(seen).size).to.equal(USERS);
    const order = [...ids].sort((a, b) => pageBucket(a) - pageBucket(b) || (a < b ? -1 : a > b ? 1 : 0));
    expect(seen).to.deep.equal(order);
    expect(new Set(ids.map(pageBucket)).size, 'the users spread over the buckets').to.be.greaterThan(PAGE_BUCKETS / 2);
  });

  it('when a source filter is given, then only that source is paged, still every member once', async () => {
    const res = await t.api.get(`/api/v1/groups/${groupId}/members`).query({ limit: 1000, source: 'rule' }).set(admin).expect(200);
    expect(res.body.items).to.have.length(1000);
    const none = await t.api.get(`/api/v1/groups/${groupId}/members`).query({ limit: 1000, source: 'manual' }).set(admin).expect(200);
    expect(none.body.items).to.deep.equal([]);
    expect(none.body.nextCursor).to.equal(null);
  });

  it('when memberships were stored before buckets existed, then filling in gives each its bucket, once', async () => {
    await db().collection('memberships').updateMany({ group: groupId }, { $unset: { page: '' } });
    await db().collection('settings').deleteOne({ _id: 'membership-pages' as never });
    expect(await fillMissingPages()).to.equal(USERS);
    expect(await membershipPagesMark.isComplete()).to.equal(true);
    expect(await db().collection('memberships').countDocuments({ group: groupId, page: { $exists: false } })).to.equal(0);
    expect(await fillMissingPages(), 'a second run finds the marker').to.equal(0);
  });

  it('when a cursor names a bucket that does not exist, then it is a 400 naming the cursor', async () => {
    const bad = Buffer.from(JSON.stringify({ a: '#99:p00001' }), 'utf8').toString('base64url');
    const res = await t.api.get(`/api/v1/groups/${groupId}/members`).query({ cursor: bad }).set(admin).expect(400);
    expect(res.body.errors[0].path).to.equal('cursor');
  });
});
