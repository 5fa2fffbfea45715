// Groups of groups across two processes on one database: what must hold between them is held by the database (the
// group-graph lease, the users' leases), not by either process's memory.
import { expect } from 'chai';
import supertest from 'supertest';
import { spawnService, type ChildService } from '../../helpers/child-service.js';
import { startTestService, testDatabaseUri, type TestService } from '../../helpers/service.js';
import { createGroup, defineField, putUser, userBody, type Auth } from '../membership/membership-helpers.js';

const memberOf = (group: string) => ({ fact: 'memberOf', params: { group }, operator: 'equal', value: true });
const sales = { fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Sales' };

describe('Groups of groups across two processes', function () {
  this.timeout(120_000);
  let t: TestService;
  let other: ChildService;
  let api2: supertest.Agent;
  let admin: Auth;
  let hr: Auth;
  before(async () => {
    t = await startTestService('gogprocs');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    other = await spawnService({ ROLE: 'api', MONGODB_URI: testDatabaseUri(), MONGODB_DB: t.service.config.databaseName, JOB_POLL_MS: '100' });
    api2 = supertest.agent(`http://127.0.0.1:${other.port}`);
    await defineField(t, hr, 'department', { label: 'Department', type: 'select', options: ['Sales', 'People'] });
  });
  after(async () => {
    if (other && other.child.exitCode === null) other.child.kill('SIGTERM');
    await other?.exited;
    await t.stop();
  });
  const stored = async (groupId: string) =>
    (await t.service.database.db.collection('memberships').find({ group: groupId }).toArray()).map((m) => m.externalId as string).sort();

  it('when two admins save A naming B and B naming A at the same moment through the two processes, then one is refused naming the cycle', async () => {
    for (let round = 0; round < 4; round++) {
      const a = await createGroup(t, admin, { type: 'automatic', rule: { conditions: { all: [sales] } } });
      const b = await createGroup(t, admin, { type: 'automatic', rule: { conditions: { all: [sales] } } });
      const [first, second] = await Promise.all([
        t.api.put(`/api/v1/groups/${a.id}/rule`).set(admin).send({ rule: { conditions: { all: [memberOf(b.id)] } } }),
        api2.put(`/api/v1/groups/${b.id}/rule`).set(admin).send({ rule: { conditions: { all: [memberOf(a.id)] } } }),
      ]);
      expect([first.status, second.status].sort(), JSON.stringify([first.body, second.body])).to.deep.equal([200, 400]);
      const refused = first.status === 400 ? first : second;
      expect(refused.body.errors[0].message).to.match(new RegExp(`(${a.id} → ${b.id} → ${a.id})|(${b.id} → ${a.id} → ${b.id})`));
      // Stored: exactly one of the two rules names the other.
      const rules = await t.service.database.db.collection('groups').find({ _id: { $in: [a.id, b.id] } } as never).toArray();
      expect(rules.filter((g) => JSON.stringify(g.rule).includes('memberOf'))).to.have.length(1);
    }
  });

  it('when an HR write through one process and a hand edit through the other land at once at two levels, then the group naming both ends right', async () => {
    const inSales = await createGroup(t, admin, { type: 'automatic', rule: { conditions: { all: [sales] } } });
    const vip = await createGroup(t, admin, { type: 'manual' });
    const both = await createGroup(t, admin, { type: 'automatic', rule: { conditions: { all: [memberOf(inSales.id), memberOf(vip.id)] } } });
    const users = await Promise.all(Array.from({ length: 12 }, () => putUser(t, hr, userBody())));
    await Promise.all(
      users.flatMap((u) => [
        t.api.patch(`/api/v1/users/${u}`).set(hr).send({ fields: { department: 'Sales' } }).expect(200),
        api2.put(`/api/v1/groups/${vip.id}/members/${u}`).set(admin).expect(201),
      ]),
    );
    expect(await stored(both.id)).to.deep.equal([...users].sort());
    await Promise.all(
      users.flatMap((u) => [
        api2.patch(`/api/v1/users/${u}`).set(hr).send({ fields: { department: 'People' } }).expect(200),
        t.api.delete(`/api/v1/groups/${vip.id}/members/${u}`).set(admin).expect(204),
      ]),
    );
    expect(await stored(both.id)).to.deep.equal([]);
    expect((await t.api.get(`/api/v1/groups/${both.id}`).set(admin).expect(200)).body.memberCount).to.equal(0);
  });
});
