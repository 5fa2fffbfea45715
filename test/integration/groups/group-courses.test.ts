// A group's courses through HTTP: attach and detach, enrol and unenrol every member (jobs), enrolment as a member
// joins by any source, and bundles (price, ?priced=). Each test checks the stored users and groups too.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { runGroupEnrollment } from '../../../src/groups/group-courses.js';
import { createLogger } from '../../../src/platform/logger.js';
import { createGroup, defineField, enrol, patchUser, putCourse, putUser, uniq, userBody, waitForJob, type Auth, type JobView } from '../membership/membership-helpers.js';

type StoredEnrollment = { status: string; enrolledBy?: string; enrolledAt: Date; completedAt?: Date };

describe('Group courses: attach, enrol, unenrol, enrol-on-join; bundles', function () {
  this.timeout(60_000);
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  before(async () => {
    t = await startTestService('group-courses');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
  });
  after(async () => t.stop());
  const db = () => t.service.database.db;
  const newCourse = async () => {
    const code = uniq('C-').toUpperCase();
    await putCourse(t, hr, code, `Course ${code}`);
    return code;
  };
  const newUser = (overrides: Record<string, unknown> = {}) => putUser(t, hr, userBody(overrides));
  const addMember = (groupId: string, externalId: string) => t.api.put(`/api/v1/groups/${groupId}/members/${externalId}`).set(admin).expect(201);
  const attach = (groupId: string, code: string) => t.api.put(`/api/v1/groups/${groupId}/courses/${code}`).set(admin);
  /** The stored enrolment (the user document itself), or undefined. */
  const stored = async (externalId: string, code: string): Promise<StoredEnrollment | undefined> => {
    const user = await db().collection('users').findOne({ _id: externalId as never });
    return (user?.enrollments as Record<string, StoredEnrollment> | undefined)?.[code];
  };
  const runJob = async (groupId: string, action: 'enroll' | 'unenroll'): Promise<JobView> => {
    const res = await t.api.post(`/api/v1/groups/${groupId}/${action}`).set(admin).expect(202);
    expect(res.headers.location).to.equal(`/api/v1/jobs/${res.body.jobId as string}`);
    return waitForJob(t, admin, res.body.jobId as string);
  };

  describe('attach and detach', () => {
    it('when a course is attached twice, then the group lists it once and the stored group has it once', async () => {
      const group = await createGroup(t, admin, { type: 'manual' });
      const code = await newCourse();
      const first = await attach(group.id, code).expect(200);
      const second = await attach(group.id, code).expect(200);
      expect(first.body.courses).to.deep.equal([code]);
      expect(second.body.courses).to.deep.equal([code]);
      expect(second.headers.etag).to.be.a('string');
      expect((await db().collection('groups').findOne({ _id: group.id as never }))!.courses).to.deep.equal([code]);
    });

    it('when a course is detached twice, then both answer 204 and the stored group no longer has it', async () => {
      const [a, b] = [await newCourse(), await newCourse()];
      const group = await createGroup(t, admin, { type: 'manual', courses: [a, b] });
      await t.api.delete(`/api/v1/groups/${group.id}/courses/${a}`).set(admin).expect(204);
      await t.api.delete(`/api/v1/groups/${group.id}/courses/${a}`).set(admin).expect(204);
      expect((await db().collection('groups').findOne({ _id: group.id as never }))!.courses).to.deep.equal([b]);
    });

    it('when the course or the group does not exist, then 404 problem documents, and nothing is stored', async () => {
      const group = await createGroup(t, admin, { type: 'manual' });
      const res = await attach(group.id, 'NO-SUCH-COURSE').expect(404);
      expect(res.headers['content-type']).to.match(/application\/problem\+json/);
      expect(res.body.errors).to.deep.equal([{ path: 'code', message: 'no such course' }]);
      await t.api.delete(`/api/v1/groups/${group.id}/courses/NO-SUCH-COURSE`).set(admin).expect(404);
      await attach('grp_0000000000000000', await newCourse()).expect(404);
      await t.api.post('/api/v1/groups/grp_0000000000000000/enroll').set(admin).expect(404);
      expect((await db().collection('groups').findOne({ _id: group.id as never }))!.courses).to.deep.equal([]);
    });

    it('when the path is malformed, a body is sent, or the key may not write groups, then 400, 400 and 403', async () => {
      const group = await createGroup(t, admin, { type: 'manual' });
      const res = await attach('nope', 'bad code!').expect(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).to.have.members(['id', 'code']);
      await t.api.post(`/api/v1/groups/${group.id}/enroll`).set(admin).send({ anything: 1 }).expect(400);
      await attach(group.id, await newCourse()).set(await t.auth('viewer')).expect(403);
    });
  });

  describe('enroll and unenroll', () => {
    it('when a group enrols its members, then each is subscribed in each course once, marked with the group, and an existing enrolment is left as it is', async () => {
      const [a, b] = [await newCourse(), await newCourse()];
      const group = await createGroup(t, admin, { type: 'manual', courses: [a, b] });
      const [u1, u2, u3] = [await newUser(), await newUser(), await newUser()];
      // Added before the courses matter: enrol-on-join enrols them already; take that back to test the job alone.
      for (const u of [u1, u2, u3]) await addMember(group.id, u);
      await db().collection('users').updateMany({ _id: { $in: [u1, u2, u3] } as never }, { $unset: { [`enrollments.${a}`]: '', [`enrollments.${b}`]: '' } });
      await enrol(t, hr, a, u1, { status: 'completed' });

      const job = await runJob(group.id, 'enroll');
      expect(job.result).to.deep.equal({ members: 3, courses: 2, enrolled: 5, unchanged: 1, failed: 0 });
      expect(job.progress).to.deep.equal({ done: 3, total: 3 });
      const own = (await stored(u1, a))!;
      expect(own.status).to.equal('completed');
      expect(own.enrolledBy).to.equal(undefined);
      for (const [u, c] of [[u1, b], [u2, a], [u2, b], [u3, a], [u3, b]] as const) {
        expect(await stored(u, c), `${u} in ${c}`).to.include({ status: 'subscribed', enrolledBy: `group:${group.id}` });
      }
      const listed = await t.api.get(`/api/v1/courses/${b}/enrollments`).set(hr).expect(200);
      expect(listed.body.items.map((e: { externalId: string }) => e.externalId).sort()).to.deep.equal([u1, u2, u3].sort());
      expect(listed.body.items[0].enrolledBy).to.equal(`group:${group.id}`);

      // Again: nothing left to do, nothing rewritten.
      const before = await stored(u2, a);
      const again = await runJob(group.id, 'enroll');
      expect(again.result).to.deep.equal({ members: 3, courses: 2, enrolled: 0, unchanged: 6, failed: 0 });
      expect(await stored(u2, a)).to.deep.equal(before);
    });

    it('when a group unenrols, then only what it made goes: a completed enrolment, the user\'s own, another group\'s, and a member\'s of another group with the course stay', async () => {
      const course = await newCourse();
      const group = await createGroup(t, admin, { type: 'manual', courses: [course] });
      const other = await createGroup(t, admin, { type: 'manual', courses: [course] });
      const [made, completed, own, others, both] = [await newUser(), await newUser(), await newUser(), await newUser(), await newUser()];
      await enrol(t, hr, course, own, { status: 'in_progress' });
      await addMember(other.id, others);
      for (const u of [made, completed, own, others, both]) await addMember(group.id, u);
      // Enrolled by this group, then a member of the other group with the same course too: the other group keeps it.
      await addMember(other.id, both);
      expect(await stored(both, course)).to.include({ enrolledBy: `group:${group.id}` });
      // The group's enrolment of `completed` progresses: it is the learner's record now.
      await enrol(t, hr, course, completed, { status: 'completed' });
      expect(await stored(completed, course)).to.include({ status: 'completed', enrolledBy: `group:${group.id}` });
      expect(await stored(others, course)).to.include({ enrolledBy: `group:${other.id}` });

      const job = await runJob(group.id, 'unenroll');
      expect(job.result).to.deep.equal({ members: 5, courses: 1, removed: 1, kept: 4 });
      expect(await stored(both, course)).to.include({ status: 'subscribed', enrolledBy: `group:${group.id}` });
      expect(await stored(made, course)).to.equal(undefined);
      expect(await stored(completed, course)).to.include({ status: 'completed' });
      expect(await stored(own, course)).to.include({ status: 'in_progress' }).and.not.have.property('enrolledBy');
      expect(await stored(others, course)).to.include({ status: 'subscribed', enrolledBy: `group:${other.id}` });
      await t.api.get(`/api/v1/courses/${course}/enrollments/${made}`).set(hr).expect(404);

      const again = await runJob(group.id, 'unenroll');
      expect(again.result).to.deep.equal({ members: 5, courses: 1, removed: 0, kept: 4 });
    });

    it('when a group enrols, then automatic groups whose rules read that enrolment take the members in (a directory change like any other)', async () => {
      const course = await newCourse();
      const watcher = await createGroup(t, admin, {
        type: 'automatic',
        rule: { conditions: { all: [{ fact: 'enrollment', params: { course }, path: '$.status', operator: 'equal', value: 'subscribed' }] } },
      });
      const group = await createGroup(t, admin, { type: 'manual' });
      const [u1, u2] = [await newUser(), await newUser()];
      for (const u of [u1, u2]) await addMember(group.id, u);
      await attach(group.id, course).expect(200);
      await runJob(group.id, 'enroll');
      const members = await db().collection('memberships').find({ group: watcher.id }).toArray();
      expect(members.map((m) => m.externalId).sort()).to.deep.equal([u1, u2].sort());
      expect(members.every((m) => m.source === 'rule')).to.equal(true);
      expect(await db().collection('user_event_writes').countDocuments({})).to.equal(0);
    });
  });

  describe('re-runs and races (the job\'s service, as two workers or a re-run call it)', () => {
    const watch = (course: string) =>
      createGroup(t, admin, { type: 'automatic', rule: { conditions: { all: [{ fact: 'enrollment', params: { course }, path: '$.status', operator: 'equal', value: 'subscribed' }] } } });
    const opts = (at: Date) => ({ at, actor: 'test', logger: createLogger('silent') });
    const membersOf = async (groupId: string) => (await db().collection('memberships').find({ group: groupId }).toArray()).map((m) => m.externalId as string).sort();

    it('when a run stored its enrolments but was cut off before membership followed them, then its re-run applies its open write first and the watcher group reacts', async () => {
      const course = await newCourse();
      const watcher = await watch(course);
      const group = await createGroup(t, admin, { type: 'manual' });
      const users = [await newUser(), await newUser()].sort();
      for (const u of users) await addMember(group.id, u);
      await attach(group.id, course).expect(200);
      // What the cut-off run left: the enrolments it writes, stored at each user's next version as the outbox
      // claimed it, and its write still open (its process died before membership followed).
      const at = new Date(Date.now() - 60_000);
      const write = `cut-off-${course}`;
      const path = `enrollments.${course}`;
      for (const u of users) {
        const version = (((await db().collection('users').findOne({ _id: u as never }))?.version as number | undefined) ?? 0) + 1;
        await db().collection('user_events').insertOne({ _id: `${u}:${version}` as never, user: u, version, write, at, kind: 'user.changed', changed: [path], actor: 'test' });
        await db().collection('users').updateOne({ _id: u as never }, { $set: { [path]: { status: 'subscribed', role: 'student', enrolledAt: at, updatedAt: at, enrolledBy: `group:${group.id}` }, version } });
      }
      await db().collection('user_event_writes').insertOne({ _id: write as never, at, actor: 'test', userIds: users, users: users.length, paths: [path], whole: false, attempts: 0 });
      expect(await membersOf(watcher.id)).to.deep.equal([]);
      const result = await runGroupEnrollment(group.id, 'enroll', opts(at));
      expect(result).to.include({ enrolled: 0, unchanged: 2 });
      expect(await membersOf(watcher.id)).to.deep.equal(users);
      expect(await db().collection('user_event_writes').findOne({ _id: write as never })).to.equal(null);
    });

    it('when two runs of one job enrol at once, then each member is enrolled once and the watcher group adds each once', async () => {
      const course = await newCourse();
      const watcher = await watch(course);
      const group = await createGroup(t, admin, { type: 'manual' });
      const users: string[] = [];
      for (let i = 0; i < 30; i++) users.push(await newUser());
      for (const u of users) await addMember(group.id, u);
      await attach(group.id, course).expect(200);
      const at = new Date();
      const [a, b] = await Promise.all([runGroupEnrollment(group.id, 'enroll', opts(at)), runGroupEnrollment(group.id, 'enroll', opts(at))]);
      expect(a.enrolled! + a.unchanged!).to.equal(30);
      expect(b.enrolled! + b.unchanged!).to.equal(30);
      for (const u of users) expect(await stored(u, course)).to.include({ status: 'subscribed', enrolledBy: `group:${group.id}` });
      expect(await membersOf(watcher.id)).to.deep.equal([...users].sort());
      expect(await db().collection('membership_history').countDocuments({ group: watcher.id, action: 'added' })).to.equal(30);
    });
  });

  describe('enrol-on-join', () => {
    it('when a PATCH makes a user match an automatic group with courses, then the enrolment exists when the PATCH answers', async () => {
      await defineField(t, hr, 'site', { label: 'Site', type: 'text' });
      const course = await newCourse();
      const site = uniq('site');
      const group = await createGroup(t, admin, { type: 'automatic', courses: [course], rule: { conditions: { all: [{ fact: 'field', params: { key: 'site' }, operator: 'equal', value: site }] } } });
      const u = await newUser();
      expect(await stored(u, course)).to.equal(undefined);
      await patchUser(t, hr, u, { fields: { site } });
      expect(await stored(u, course)).to.include({ status: 'subscribed', enrolledBy: `group:${group.id}` });
      const listed = await t.api.get(`/api/v1/users/${u}/enrollments`).set(hr).expect(200);
      expect(listed.body.items.map((e: { course: string }) => e.course)).to.deep.equal([course]);
    });

    it('when a group sync adds many users, then each is enrolled by the end of the sync job', async () => {
      await defineField(t, hr, 'unit', { label: 'Unit', type: 'text' });
      const [a, b] = [await newCourse(), await newCourse()];
      const unit = uniq('unit');
      const users = Array.from({ length: 300 }, () => userBody({ fields: { unit } }));
      await t.api.post('/api/v1/users/batch').set(hr).send({ users }).expect(200);
      // Created after the users: its first sync job adds them all.
      const group = await createGroup(t, admin, { type: 'automatic', courses: [a, b], rule: { conditions: { all: [{ fact: 'field', params: { key: 'unit' }, operator: 'equal', value: unit }] } } });
      const docs = await db().collection('users').find({ 'fields.unit': unit }, { projection: { enrollments: 1 } }).toArray();
      expect(docs).to.have.length(300);
      for (const d of docs) {
        const e = d.enrollments as Record<string, StoredEnrollment>;
        expect(Object.keys(e).sort()).to.deep.equal([a, b].sort());
        expect(e[a]).to.include({ status: 'subscribed', enrolledBy: `group:${group.id}` });
      }
    });

    it('when a member is added by hand, then they are enrolled in the group\'s courses and an existing enrolment stays', async () => {
      const [a, b] = [await newCourse(), await newCourse()];
      const group = await createGroup(t, admin, { type: 'manual', courses: [a, b] });
      const u = await newUser();
      await enrol(t, hr, b, u, { status: 'waitlisted' });
      await addMember(group.id, u);
      expect(await stored(u, a)).to.include({ status: 'subscribed', enrolledBy: `group:${group.id}` });
      expect(await stored(u, b)).to.include({ status: 'waitlisted' }).and.not.have.property('enrolledBy');
    });

    it('when a user joins with the group key, then they are enrolled in the group\'s courses', async () => {
      const course = await newCourse();
      const group = await createGroup(t, admin, { type: 'manual', courses: [course] });
      const { key } = (await t.api.post(`/api/v1/groups/${group.id}/key`).set(admin).send({}).expect(200)).body as { key: string };
      const u = await newUser();
      await t.api.post('/api/v1/join').set(await t.auth('integration')).send({ key, externalId: u }).expect(200);
      expect(await stored(u, course)).to.include({ status: 'subscribed', enrolledBy: `group:${group.id}` });
    });

    it('when a new user joins the default group, then they are enrolled in its courses in the same request', async () => {
      const course = await newCourse();
      const group = await createGroup(t, admin, { type: 'manual', courses: [course], isDefault: true });
      try {
        const u = await newUser();
        expect(await stored(u, course)).to.include({ status: 'subscribed', enrolledBy: `group:${group.id}` });
      } finally {
        await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).send({ isDefault: false }).expect(200);
      }
    });
  });

  describe('bundles', () => {
    it('when a price has more than two decimals or is negative, then 400 naming price, and nothing is stored', async () => {
      const name = uniq('Bundle ');
      for (const price of [1.005, -1, 2.675]) {
        const res = await t.api.post('/api/v1/groups').set(admin).send({ name, type: 'manual', price }).expect(400);
        expect(res.body.errors.map((e: { path: string }) => e.path)).to.deep.equal(['price']);
      }
      expect(await db().collection('groups').countDocuments({ name })).to.equal(0);
      const group = await createGroup(t, admin, { type: 'manual' });
      const res = await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).send({ price: 9.999 }).expect(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).to.deep.equal(['price']);
      expect((await db().collection('groups').findOne({ _id: group.id as never }))!.price).to.equal(undefined);
    });

    it('when groups are listed with ?priced=, then true lists the bundles (a price of 0 included) and false the others', async () => {
      const course = await newCourse();
      const paid = await createGroup(t, admin, { type: 'manual', courses: [course], price: 19.99 });
      const free = await createGroup(t, admin, { type: 'manual', price: 0 });
      const plain = await createGroup(t, admin, { type: 'manual' });
      const cleared = await createGroup(t, admin, { type: 'manual', price: 5 });
      await t.api.patch(`/api/v1/groups/${cleared.id}`).set(admin).send({ price: null }).expect(200);
      const list = async (priced: boolean) => {
        const res = await t.api.get('/api/v1/groups').query({ priced, limit: 1000 }).set(admin).expect(200);
        return (res.body.items as Array<{ id: string; price?: number }>).map((g) => g.id);
      };
      const bundles = await list(true);
      expect(bundles).to.include.members([paid.id, free.id]).and.not.include.members([plain.id, cleared.id]);
      const others = await list(false);
      expect(others).to.include.members([plain.id, cleared.id]).and.not.include.members([paid.id, free.id]);
      const shown = (await t.api.get(`/api/v1/groups/${paid.id}`).set(admin).expect(200)).body;
      expect(shown).to.include({ price: 19.99 });
      expect(shown.courses).to.deep.equal([course]);
      await t.api.get('/api/v1/groups').query({ priced: 'maybe' }).set(admin).expect(400);
    });
  });
});
