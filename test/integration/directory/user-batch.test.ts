import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { aUser, defineFields, pathsOf, recordChanges, snapshot } from './directory-helpers.js';

describe('Directory: user batch (POST /users/batch)', () => {
  let t: TestService;
  let hr: { Authorization: string };
  before(async () => {
    t = await startTestService('userbatch');
    hr = await t.auth('hr-feed');
    await defineFields(t);
  });
  after(async () => t.stop());
  const users = () => t.service.database.db.collection('users');
  const batch = (records: unknown[]) => t.api.post('/api/v1/users/batch').set(hr).send({ users: records });

  it('when a batch of new users is sent twice, then the first creates them all and the second is all unchanged, writing and announcing nothing', async () => {
    const records = Array.from({ length: 50 }, (_, i) => aUser({ branch: i % 2 ? 'north' : 'south', fields: { employeeNumber: i, department: 'Sales', hireDate: '2023-05-01' } }));
    const changes = recordChanges(t);
    try {
      const first = await batch(records).expect(200);
      expect(first.body).to.deep.equal({ created: 50, updated: 0, unchanged: 0, failed: 0, errors: [] });
      expect((await changes.writes())).to.have.length(1);
      expect((await changes.writes())[0]).to.have.length(50);
      expect((await changes.writes())[0]!.every((c) => c.kind === 'user.created' && c.changed.length === 0)).to.equal(true);

      const ids = records.map((r) => r.externalId as string);
      const stored = await users().find({ _id: { $in: ids as never[] } }).sort({ _id: 1 }).toArray();
      expect(stored).to.have.length(50);
      changes.clear();

      const second = await batch(records).expect(200);
      expect(second.body).to.deep.equal({ created: 0, updated: 0, unchanged: 50, failed: 0, errors: [] });
      expect((await changes.writes())).to.deep.equal([]);
      expect(await users().find({ _id: { $in: ids as never[] } }).sort({ _id: 1 }).toArray()).to.deep.equal(stored);
    } finally {
      changes.stop();
    }
  });

  it('when a batch mixes new, changed, unchanged and invalid records, then each is counted, valid ones applied and each invalid one reported by index', async () => {
    const existing = [aUser({ fields: { jobTitle: 'Driver' } }), aUser({ fields: { jobTitle: 'Clerk' } })];
    await batch(existing).expect(200);
    const fresh = aUser();
    const changes = recordChanges(t);
    let res;
    try {
      res = await batch([
        existing[0], // unchanged
        { ...existing[1], lastName: 'Novak', fields: { jobTitle: 'Clerk', employeeNumber: 3 } }, // updated
        fresh, // created
        aUser({ fields: { hireDate: '2025-02-30' } }), // impossible date
        aUser({ type: 'robot', fields: { department: 'Marketing' } }), // two errors
        'not an object',
      ]).expect(200);
    } finally {
      changes.stop();
    }
    expect(res.body).to.include({ created: 1, updated: 1, unchanged: 1, failed: 3 });
    expect(res.body.errors.map((e: { index: number }) => e.index)).to.deep.equal([3, 4, 5]);
    expect(pathsOf(res.body.errors[0])).to.deep.equal(['fields.hireDate']);
    expect(pathsOf(res.body.errors[1])).to.have.members(['type', 'fields.department']);
    expect(res.body.errors[1].externalId).to.be.a('string');
    expect(pathsOf(res.body.errors[2])).to.deep.equal(['record']);

    expect((await changes.writes())).to.have.length(1);
    const byId = Object.fromEntries((await changes.all()).map((c) => [c.externalId, c]));
    expect(byId[existing[1]!.externalId as string]).to.deep.include({ kind: 'user.changed', changed: ['lastName', 'fields.employeeNumber'] });
    expect(byId[fresh.externalId as string]).to.deep.include({ kind: 'user.created', changed: [] });
    expect(Object.keys(byId)).to.have.length(2);

    expect((await users().findOne({ _id: existing[1]!.externalId as never }))!.lastName).to.equal('Novak');
    expect(await users().countDocuments({ _id: fresh.externalId as never })).to.equal(1);
  });

  it('when records of one batch share an externalId or an email, then all of them fail and none is applied', async () => {
    const twinA = aUser();
    const twinB = { ...aUser(), externalId: twinA.externalId, firstName: 'Other' };
    const mailA = aUser({ email: 'same.person@example.com' });
    const mailB = aUser({ email: 'Same.Person@example.com' });
    const before = await snapshot(t.service.database.db);
    const res = await batch([twinA, twinB, mailA, mailB]).expect(200);
    expect(res.body).to.include({ created: 0, updated: 0, unchanged: 0, failed: 4 });
    expect(res.body.errors.map((e: { index: number; errors: Array<{ path: string }> }) => [e.index, e.errors[0]!.path])).to.deep.equal([
      [0, 'externalId'],
      [1, 'externalId'],
      [2, 'email'],
      [3, 'email'],
    ]);
    expect(res.body.errors[2].errors[0].message).to.contain('3');
    expect(await snapshot(t.service.database.db)).to.deep.equal(before);
  });

  it('when a record takes the email of a user outside the batch, then that record fails naming the holder and the others apply', async () => {
    const holder = aUser({ email: 'holder@example.com' });
    await batch([holder]).expect(200);
    const thief = aUser({ email: 'HOLDER@example.com' });
    const before = aUser();
    const after = aUser();
    const res = await batch([before, thief, after]).expect(200);
    expect(res.body).to.include({ created: 2, failed: 1 });
    expect(res.body.errors).to.deep.equal([{ index: 1, externalId: thief.externalId, errors: [{ path: 'email', message: `is already used by user ${holder.externalId as string}` }] }]);
    expect(await users().countDocuments({ _id: thief.externalId as never })).to.equal(0);
    // The unordered insert stores the records around the refused one.
    expect(await users().countDocuments({ _id: { $in: [before.externalId, after.externalId] as never[] } })).to.equal(2);

    // An existing user changing to a taken email is refused the same way, and its other changes are not applied.
    const other = aUser();
    await batch([other]).expect(200);
    const res2 = await batch([{ ...other, email: 'holder@EXAMPLE.com', lastName: 'Changed' }]).expect(200);
    expect(res2.body).to.include({ updated: 0, failed: 1 });
    expect((await users().findOne({ _id: other.externalId as never }))!.lastName).to.equal('Silva');
  });

  it('when a user gives up an address that a new user of the same batch takes, then both apply', async () => {
    const leaving = aUser({ email: 'shared.box@example.com' });
    await batch([leaving]).expect(200);
    const newcomer = aUser({ email: 'shared.box@example.com' });
    const res = await batch([newcomer, { ...leaving, email: 'personal.box@example.com' }]).expect(200);
    expect(res.body.errors).to.deep.equal([]);
    expect(res.body).to.include({ created: 1, updated: 1, failed: 0 });
    expect((await users().findOne({ _id: newcomer.externalId as never }))!.emailLower).to.equal('shared.box@example.com');
    expect((await users().findOne({ _id: leaving.externalId as never }))!.emailLower).to.equal('personal.box@example.com');
  });

  it('when a user gives up an address that a new user takes earlier in a batch of several lease slices, then both apply', async () => {
    // 300 records: the batch leases its users in slices of at least 250 (userSlices), so the newcomer (first record) is applied
    // while the user giving the address up (last record) is still to come.
    const leaving = aUser({ email: 'slices.box@example.com' });
    await batch([leaving]).expect(200);
    const newcomer = aUser({ email: 'slices.box@example.com' });
    const others = Array.from({ length: 298 }, () => aUser());
    const res = await batch([newcomer, ...others, { ...leaving, email: 'slices.personal@example.com' }]).expect(200);
    expect(res.body.errors).to.deep.equal([]);
    expect(res.body).to.include({ created: 299, updated: 1, failed: 0 });
    expect((await users().findOne({ _id: newcomer.externalId as never }))!.emailLower).to.equal('slices.box@example.com');
    expect((await users().findOne({ _id: leaving.externalId as never }))!.emailLower).to.equal('slices.personal@example.com');
    // An address its holder keeps is refused once every slice has been applied.
    const thief = aUser({ email: 'slices.personal@example.com' });
    const refused = await batch([thief, ...Array.from({ length: 299 }, () => aUser())]).expect(200);
    expect(refused.body).to.include({ created: 299, failed: 1 });
    expect(refused.body.errors).to.deep.equal([{ index: 0, externalId: thief.externalId, errors: [{ path: 'email', message: `is already used by user ${leaving.externalId as string}` }] }]);
  });

  it("when a user of a running batch is PATCHed, then the PATCH waits for the user's slice of the batch, not for the whole batch", async () => {
    // 1,000 users: four slices of 250, so three are still to come when the first is stored (a margin for a loaded machine).
    const people = Array.from({ length: 1000 }, () => aUser());
    let batchAnswered = 0;
    const running = batch(people).then((res) => {
      batchAnswered = Date.now();
      return res;
    });
    const first = people[0]!.externalId as string;
    // The first user is stored: their slice has been written, the batch goes on with the others.
    while (!batchAnswered && !(await users().findOne({ _id: first as never }))) await new Promise((r) => setTimeout(r, 5));
    await t.api.patch(`/api/v1/users/${first}`).set(hr).send({ lastName: 'Sliced' }).expect(200);
    const patchAnswered = Date.now();
    expect((await running).body).to.include({ created: 1000, failed: 0 });
    expect(batchAnswered, 'the PATCH answered before the batch').to.be.greaterThan(patchAnswered);
    expect(await users().findOne({ _id: first as never })).to.deep.include({ lastName: 'Sliced' });
  });

  it('when two users swap addresses in one batch, then the unique index refuses what cannot be applied and it is reported, never half-stored', async () => {
    const a = aUser({ email: 'swap.a@example.com' });
    const b = aUser({ email: 'swap.b@example.com' });
    await batch([a, b]).expect(200);
    const res = await batch([{ ...a, email: 'swap.b@example.com' }, { ...b, email: 'swap.a@example.com' }]).expect(200);
    expect(res.body.updated + res.body.failed).to.equal(2);
    expect(res.body.failed).to.be.greaterThan(0);
    for (const e of res.body.errors) expect(pathsOf(e)).to.deep.equal(['email']);
    const stored = await users().find({ _id: { $in: [a.externalId, b.externalId] as never[] } }).toArray();
    const emails = stored.map((u) => u.emailLower as string);
    expect(new Set(emails).size).to.equal(2);
    for (const u of stored) expect(u.emailLower).to.equal((u.email as string).toLowerCase());
  });

  it('when a batch holds 10,000 users (over 1 MB), then all are created; when 150 of them change, then those are updated', async () => {
    const records = Array.from({ length: 10_000 }, (_, i) => ({
      externalId: `MAX${String(i).padStart(5, '0')}`,
      email: `max.${i}@example.com`,
      firstName: 'Max',
      lastName: `Batch ${i}`,
      type: 'learner',
      fields: { jobTitle: `Title ${i % 50}`, employeeNumber: i },
    }));
    expect(JSON.stringify({ users: records }).length).to.be.greaterThan(1024 * 1024);
    const first = await batch(records).expect(200);
    expect(first.body).to.include({ created: 10_000, failed: 0 });
    // More than 100 changed users: written in several update commands (FerretDB hangs on one of 100 or more).
    const changed = records.map((r, i) => (i < 150 ? { ...r, status: 'inactive' } : r));
    const second = await batch(changed).expect(200);
    expect(second.body).to.include({ updated: 150, unchanged: 9_850, failed: 0 });
    expect(await users().countDocuments({ _id: { $in: records.slice(0, 150).map((r) => r.externalId) as never[] }, status: 'inactive' })).to.equal(150);
  }).timeout(60_000);

  it('when the batch has more than 10,000 records, then 413 and nothing is written', async () => {
    const before = await snapshot(t.service.database.db);
    const records = Array.from({ length: 10_001 }, (_, i) => ({ externalId: `X${i}`, email: `x${i}@e.com`, firstName: 'A', lastName: 'B', type: 'learner' }));
    const res = await batch(records).expect(413);
    expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(res.body.detail).to.contain('10000');
    expect(await snapshot(t.service.database.db)).to.deep.equal(before);
  });

  it('when the envelope is wrong, then 400 names it', async () => {
    expect(pathsOf((await t.api.post('/api/v1/users/batch').set(hr).send({}).expect(400)).body)).to.deep.equal(['users']);
    expect(pathsOf((await t.api.post('/api/v1/users/batch').set(hr).send({ users: {} }).expect(400)).body)).to.deep.equal(['users']);
    expect(pathsOf((await t.api.post('/api/v1/users/batch').set(hr).send({ users: [], extra: 1 }).expect(400)).body)).to.deep.equal(['extra']);
    expect(pathsOf((await t.api.post('/api/v1/users/batch').set(hr).send([aUser()]).expect(400)).body)).to.deep.equal(['body']);
  });

  it('when the batch is empty, then 200 with zero counts', async () => {
    expect((await batch([]).expect(200)).body).to.deep.equal({ created: 0, updated: 0, unchanged: 0, failed: 0, errors: [] });
  });
});
