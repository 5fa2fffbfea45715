import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { aUser, pathsOf, recordChanges, snapshot } from './directory-helpers.js';

describe('Directory: courses and enrolments', () => {
  let t: TestService;
  let hr: { Authorization: string };
  before(async () => {
    t = await startTestService('enrol');
    hr = await t.auth('hr-feed');
  });
  after(async () => t.stop());
  const users = () => t.service.database.db.collection('users');
  const newUser = async (overrides: Record<string, unknown> = {}) => {
    const u = aUser(overrides);
    await t.api.put(`/api/v1/users/${u.externalId as string}`).set(hr).send(u).expect(201);
    return u.externalId as string;
  };
  const enrol = (code: string, id: string, body: Record<string, unknown>) => t.api.put(`/api/v1/courses/${code}/enrollments/${id}`).set(hr).send(body);

  it('when a course is PUT, then 201, renaming is 200, the same title again writes nothing, and GET shows it', async () => {
    const created = await t.api.put('/api/v1/courses/DRV-101').set(hr).send({ title: 'Driver Safety' }).expect(201);
    expect(created.body).to.include({ code: 'DRV-101', title: 'Driver Safety' });
    await t.api.put('/api/v1/courses/DRV-101').set(hr).send({ title: 'Driver Safety 2' }).expect(200);
    const stored = await t.service.database.db.collection('courses').findOne({ _id: 'DRV-101' as never });
    const same = await t.api.put('/api/v1/courses/DRV-101').set(hr).send({ title: 'Driver Safety 2' }).expect(200);
    expect(same.body.updatedAt).to.equal(stored!.updatedAt.toISOString());
    const got = await t.api.get('/api/v1/courses/DRV-101').set(await t.auth('viewer')).expect(200);
    expect(got.body).to.include({ code: 'DRV-101', title: 'Driver Safety 2' });
    await t.api.get('/api/v1/courses/NOPE-1').set(hr).expect(404);
    await t.api.put('/api/v1/courses/FIRE-100').set(hr).send({ title: 'Fire' }).expect(201);
    const list = await t.api.get('/api/v1/courses').query({ limit: 1 }).set(hr).expect(200);
    expect(list.body.items.map((c: { code: string }) => c.code)).to.deep.equal(['DRV-101']);
    const next = await t.api.get('/api/v1/courses').query({ limit: 1, cursor: list.body.nextCursor }).set(hr).expect(200);
    expect(next.body.items.map((c: { code: string }) => c.code)).to.deep.equal(['FIRE-100']);
  });

  it('when a user is enrolled, then 201 with enrolledAt, role student by default, stored inside the user', async () => {
    const id = await newUser();
    const res = await enrol('DRV-101', id, { status: 'subscribed', class: 'Tutorial_1|THU|01:00PM|C05', cohort: '2026-Spring', mode: 'internal' }).expect(201);
    expect(res.body).to.include({ course: 'DRV-101', externalId: id, status: 'subscribed', role: 'student', class: 'Tutorial_1|THU|01:00PM|C05', cohort: '2026-Spring', mode: 'internal' });
    expect(res.body.enrolledAt).to.be.a('string');
    expect(res.body).to.not.have.property('completedAt');
    const stored = await users().findOne({ _id: id as never });
    expect(stored!.enrollments['DRV-101']).to.include({ status: 'subscribed', role: 'student', cohort: '2026-Spring' });
    expect(stored!.enrollments['DRV-101'].enrolledAt).to.be.instanceOf(Date);
  });

  it('when the status moves to completed and away, then completedAt is set, kept while completed, and cleared; enrolledAt never moves', async () => {
    const id = await newUser();
    const first = await enrol('DRV-101', id, { status: 'in_progress' }).expect(201);
    const done = await enrol('DRV-101', id, { status: 'completed' }).expect(200);
    expect(done.body.completedAt).to.be.a('string');
    expect(done.body.enrolledAt).to.equal(first.body.enrolledAt);
    const still = await enrol('DRV-101', id, { status: 'completed', cohort: 'late' }).expect(200);
    expect(still.body.completedAt).to.equal(done.body.completedAt);
    const again = await enrol('DRV-101', id, { status: 'in_progress', cohort: 'late' }).expect(200);
    expect(again.body).to.not.have.property('completedAt');
    expect(again.body.enrolledAt).to.equal(first.body.enrolledAt);
    expect((await users().findOne({ _id: id as never }))!.enrollments['DRV-101']).to.not.have.property('completedAt');
  });

  it('when the course or the user does not exist, then 404 names which', async () => {
    const id = await newUser();
    const noCourse = await enrol('NOPE-9', id, { status: 'subscribed' }).expect(404);
    expect(noCourse.body.detail).to.contain('no course with code NOPE-9').and.not.contain('no user');
    const noUser = await enrol('DRV-101', 'ghost', { status: 'subscribed' }).expect(404);
    expect(noUser.body.detail).to.contain('no user with externalId ghost').and.not.contain('no course');
    const neither = await enrol('NOPE-9', 'ghost', { status: 'subscribed' }).expect(404);
    expect(pathsOf(neither.body)).to.deep.equal(['code', 'externalId']);
    expect(await users().countDocuments({ _id: 'ghost' as never })).to.equal(0);
  });

  it('when enrolments change, then exactly `enrollments.<code>` of that user is announced; an unchanged PUT announces nothing', async () => {
    const id = await newUser();
    const changes = recordChanges(t);
    try {
      await enrol('FIRE-100', id, { status: 'subscribed' }).expect(201);
      await enrol('FIRE-100', id, { status: 'subscribed', role: 'student' }).expect(200);
      await enrol('FIRE-100', id, { status: 'waitlisted' }).expect(200);
      await t.api.delete(`/api/v1/courses/FIRE-100/enrollments/${id}`).set(hr).expect(204);
      expect((await changes.writes())).to.deep.equal([
        [{ kind: 'user.changed', externalId: id, changed: ['enrollments.FIRE-100'], actor: (await changes.writes())[0]![0]!.actor }],
        [{ kind: 'user.changed', externalId: id, changed: ['enrollments.FIRE-100'], actor: (await changes.writes())[0]![0]!.actor }],
        [{ kind: 'user.changed', externalId: id, changed: ['enrollments.FIRE-100'], actor: (await changes.writes())[0]![0]!.actor }],
      ]);
      expect((await changes.writes())[0]![0]!.actor).to.match(/^key:test hr-feed \(key_[0-9a-f]{16}\)$/);
    } finally {
      changes.stop();
    }
    expect((await users().findOne({ _id: id as never }))!.enrollments).to.deep.equal({});
    await t.api.delete(`/api/v1/courses/FIRE-100/enrollments/${id}`).set(hr).expect(404);
  });

  it("when enrolments are listed, then a course's list is by externalId and a user's by course code, with paging", async () => {
    await t.api.put('/api/v1/courses/LIST-1').set(hr).send({ title: 'Listing' }).expect(201);
    const ids = [await newUser(), await newUser(), await newUser()].sort();
    for (const id of ids) await enrol('LIST-1', id, { status: 'in_progress', role: 'instructor' }).expect(201);
    await enrol('DRV-101', ids[0]!, { status: 'completed' }).expect(201);
    const page1 = await t.api.get('/api/v1/courses/LIST-1/enrollments').query({ limit: 2 }).set(await t.auth('support')).expect(200);
    expect(page1.body.items.map((e: { externalId: string }) => e.externalId)).to.deep.equal(ids.slice(0, 2));
    expect(page1.body.items[0]).to.include({ course: 'LIST-1', status: 'in_progress', role: 'instructor' });
    const page2 = await t.api.get('/api/v1/courses/LIST-1/enrollments').query({ limit: 2, cursor: page1.body.nextCursor }).set(hr).expect(200);
    expect(page2.body).to.deep.include({ nextCursor: null });
    expect(page2.body.items.map((e: { externalId: string }) => e.externalId)).to.deep.equal(ids.slice(2));

    const mine = await t.api.get(`/api/v1/users/${ids[0]!}/enrollments`).set(hr).expect(200);
    expect(mine.body.items.map((e: { course: string }) => e.course)).to.deep.equal(['DRV-101', 'LIST-1']);
    const mine1 = await t.api.get(`/api/v1/users/${ids[0]!}/enrollments`).query({ limit: 1 }).set(hr).expect(200);
    expect(mine1.body.items.map((e: { course: string }) => e.course)).to.deep.equal(['DRV-101']);
    const mine2 = await t.api.get(`/api/v1/users/${ids[0]!}/enrollments`).query({ limit: 1, cursor: mine1.body.nextCursor }).set(hr).expect(200);
    expect(mine2.body).to.deep.include({ nextCursor: null });
    expect(mine2.body.items.map((e: { course: string }) => e.course)).to.deep.equal(['LIST-1']);

    await t.api.get('/api/v1/courses/NOPE-2/enrollments').set(hr).expect(404);
    await t.api.get('/api/v1/users/ghost/enrollments').set(hr).expect(404);
  });

  it('when a user is deleted, then their enrolments go with them and user.deleted is announced', async () => {
    const id = await newUser();
    await enrol('DRV-101', id, { status: 'subscribed' }).expect(201);
    const changes = recordChanges(t);
    try {
      await t.api.delete(`/api/v1/users/${id}`).set(hr).expect(204);
      expect((await changes.all()).map((c) => [c.kind, c.externalId, c.changed])).to.deep.equal([['user.deleted', id, []]]);
    } finally {
      changes.stop();
    }
    const list = await t.api.get('/api/v1/courses/DRV-101/enrollments').query({ limit: 1000 }).set(hr).expect(200);
    expect(list.body.items.map((e: { externalId: string }) => e.externalId)).to.not.include(id);
  });

  describe('POST /enrollments/batch', () => {
    const batch = (records: unknown[]) => t.api.post('/api/v1/enrollments/batch').set(hr).send({ enrollments: records });

    it('when a batch enrols users in several courses, then counts per record, one write and one change per user, and the same batch again is unchanged', async () => {
      const [a, b] = [await newUser(), await newUser()];
      const records = [
        { course: 'DRV-101', externalId: a, status: 'completed', class: 'T1' },
        { course: 'FIRE-100', externalId: a, status: 'subscribed', mode: 'external' },
        { course: 'DRV-101', externalId: b, status: 'in_progress' },
      ];
      const changes = recordChanges(t);
      try {
        const first = await batch(records).expect(200);
        expect(first.body).to.deep.equal({ created: 3, updated: 0, unchanged: 0, failed: 0, errors: [] });
        expect((await changes.writes())).to.have.length(1);
        expect((await changes.all()).map((c) => [c.externalId, c.changed]).sort()).to.deep.equal(
          [
            [a, ['enrollments.DRV-101', 'enrollments.FIRE-100']],
            [b, ['enrollments.DRV-101']],
          ].sort(),
        );
        const storedA = await users().findOne({ _id: a as never });
        expect(storedA!.enrollments['DRV-101'].completedAt).to.be.instanceOf(Date);
        changes.clear();

        const before = await snapshot(t.service.database.db);
        expect((await batch(records).expect(200)).body).to.deep.equal({ created: 0, updated: 0, unchanged: 3, failed: 0, errors: [] });
        expect((await changes.writes())).to.deep.equal([]);
        expect(await snapshot(t.service.database.db)).to.deep.equal(before);

        const third = await batch([{ ...records[2], status: 'completed' }]).expect(200);
        expect(third.body).to.include({ updated: 1 });
        expect((await changes.all()).map((c) => [c.externalId, c.changed])).to.deep.equal([[b, ['enrollments.DRV-101']]]);
      } finally {
        changes.stop();
      }
    });

    it('when a batch changes enrolments that a rule reads beside the email, then each user is a member exactly as stored when the batch answers', async () => {
      // The reaction evaluates the users as the batch stored them (handed over, not read back): the email it did
      // not write and both enrolments, the one it changed and the one it left, must be there.
      await t.api.put('/api/v1/courses/RULE-A').set(hr).send({ title: 'A' }).expect(201);
      await t.api.put('/api/v1/courses/RULE-B').set(hr).send({ title: 'B' }).expect(201);
      const enrolled = (course: string, status: string) => ({ fact: 'enrollment', params: { course }, path: '$.status', operator: 'equal', value: status });
      const rule = { conditions: { all: [{ fact: 'email', operator: 'includesText', value: '@batch-rule.' }, enrolled('RULE-A', 'completed'), enrolled('RULE-B', 'subscribed')] } };
      const group = await t.api.post('/api/v1/groups').set(await t.auth('admin')).send({ name: 'Batch rule', type: 'automatic', rule }).expect(201);
      const members = async () => (await t.service.database.db.collection('memberships').find({ group: group.body.id }).toArray()).map((m) => m.externalId as string).sort();
      const [a, b, c] = [await newUser({ email: `a.${Date.now()}@batch-rule.example.com` }), await newUser({ email: `b.${Date.now()}@batch-rule.example.com` }), await newUser()];
      await batch([a, b, c].map((id) => ({ course: 'RULE-B', externalId: id, status: 'subscribed' }))).expect(200);
      expect(await members()).to.deep.equal([]);
      await batch([a, b, c].map((id) => ({ course: 'RULE-A', externalId: id, status: 'completed' }))).expect(200);
      expect(await members()).to.deep.equal([a, b].sort());
      await batch([{ course: 'RULE-B', externalId: b, status: 'in_progress' }]).expect(200);
      expect(await members()).to.deep.equal([a]);
    });

    it("when a user of a running batch is written alone, then that write waits for the user's slice of the batch, not for the whole batch", async () => {
      // 1,000 users: the batch leases them in slices of 250 (lease-slices.ts), so the first slice is stored while three more are to come.
      await t.api.put('/api/v1/courses/SLICE-1').set(hr).send({ title: 'Slices' }).expect(201);
      const people = Array.from({ length: 1000 }, () => aUser());
      await t.api.post('/api/v1/users/batch').set(hr).send({ users: people }).expect(200);
      const ids = people.map((u) => u.externalId as string);
      let batchAnswered = 0;
      const running = batch(ids.map((id) => ({ course: 'SLICE-1', externalId: id, status: 'subscribed' }))).then((res) => {
        batchAnswered = Date.now();
        return res;
      });
      // The first user's enrolment is stored: its slice has been written, the batch goes on with the others.
      while (!batchAnswered && !(await users().findOne({ _id: ids[0] as never, 'enrollments.SLICE-1': { $exists: true } }))) await new Promise((r) => setTimeout(r, 5));
      await t.api.patch(`/api/v1/users/${ids[0]!}`).set(hr).send({ lastName: 'Sliced' }).expect(200);
      const patchAnswered = Date.now();
      expect((await running).body).to.include({ created: 1000, failed: 0 });
      expect(batchAnswered, 'the PATCH answered before the batch').to.be.greaterThan(patchAnswered);
      const stored = await users().findOne({ _id: ids[0] as never });
      expect(stored).to.deep.include({ lastName: 'Sliced' });
      expect(stored!.enrollments['SLICE-1']).to.include({ status: 'subscribed' });
    });

    it('when records name missing courses or users, repeat a pair, or are invalid, then each fails by index and the rest apply', async () => {
      const a = await newUser();
      const res = await batch([
        { course: 'NOPE-3', externalId: a, status: 'subscribed' },
        { course: 'DRV-101', externalId: 'ghost', status: 'subscribed' },
        { course: 'FIRE-100', externalId: a, status: 'subscribed' },
        { course: 'FIRE-100', externalId: a, status: 'completed' },
        { course: 'DRV-101', externalId: a, status: 'finished', role: 'boss', $set: 1 },
        { course: 'DRV-101', externalId: a, status: 'finished', role: 'boss' },
        { course: 'LIST-1', externalId: a, status: 'waitlisted' },
      ]).expect(200);
      expect(res.body).to.include({ created: 1, failed: 6 });
      const paths = Object.fromEntries(res.body.errors.map((e: { index: number }) => [e.index, pathsOf(e as never)]));
      expect(paths).to.deep.equal({ 0: ['course'], 1: ['externalId'], 2: ['course'], 3: ['course'], 4: ['$set', 'status', 'role'], 5: ['status', 'role'] });
      expect(Object.keys((await users().findOne({ _id: a as never }))!.enrollments)).to.deep.equal(['LIST-1']);
    });

    it('when the batch is over 10,000 records or the envelope is wrong, then 413 or 400', async () => {
      const records = Array.from({ length: 10_001 }, (_, i) => ({ course: 'DRV-101', externalId: `x${i}`, status: 'subscribed' }));
      await batch(records).expect(413);
      expect(pathsOf((await t.api.post('/api/v1/enrollments/batch').set(hr).send({ users: [] }).expect(400)).body)).to.have.members(['enrollments', 'users']);
    });
  });
});
