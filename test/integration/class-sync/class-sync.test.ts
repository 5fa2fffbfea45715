// Class group sync (API.md "Class group sync"): through HTTP against the real database, checking what was stored.
// Class and cohort names are the seed's own examples (seed/generate.ts, course AHIS190).
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { storedState } from '../../helpers/stored-state.js';
import { NIGHTLY_SYNC_JOB } from '../../../src/jobs/nightly-sync.job.js';
import { CLASS_SYNC_ALL_JOB } from '../../../src/jobs/class-sync.job.js';
import {
  enrol,
  historyOf,
  memberList,
  putCourse,
  putUser,
  uniq,
  userBody,
  waitForJob,
  type Auth,
} from '../membership/membership-helpers.js';

const TUTORIAL_1 = 'Tutorial_1|THU|01:00PM|C05';
const TUTORIAL_2 = 'Tutorial_2|FRI|10:00AM|C07';
const INT_COHORT = 'AHIS190_2018_FHFYR_INT_U';
const EXT_COHORT = 'AHIS190_2018_FHFYR_EXT_U';

interface ClassGroup {
  id: string;
  name: string;
  course?: string;
  memberCount: number;
}

describe('Class group sync: a course keeps groups per class, cohort and attendance mode from its enrolments', function () {
  this.timeout(60_000);
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  before(async () => {
    t = await startTestService('classsync');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
  });
  after(async () => t.stop());
  afterEach(() => {
    t.clock.now = () => new Date();
  });

  const newCourse = async () => {
    const code = uniq('AHIS190-');
    await putCourse(t, hr, code, 'Ancient History: Greece and Rome');
    return code;
  };
  const student = async (course: string, e: Record<string, unknown>, user: Record<string, unknown> = {}) => {
    const id = await putUser(t, hr, userBody(user));
    await enrol(t, hr, course, id, { status: 'in_progress', role: 'student', ...e });
    return id;
  };
  const enable = async (course: string, body: Record<string, unknown> = { enabled: true }) => {
    const res = await t.api.put(`/api/v1/courses/${course}/class-sync`).set(admin).send(body);
    expect(res.status, JSON.stringify(res.body)).to.be.oneOf([200, 201]);
    if (res.body.jobId) await waitForJob(t, admin, res.body.jobId as string);
    return res.body as Record<string, unknown>;
  };
  const courseGroups = async (course: string): Promise<Map<string, ClassGroup>> => {
    const res = await t.api.get('/api/v1/groups').query({ course, limit: 1000 }).set(admin).expect(200);
    return new Map((res.body.items as ClassGroup[]).map((g) => [g.name, g]));
  };
  const membersOf = async (group: ClassGroup | undefined) => {
    expect(group, 'group').to.not.equal(undefined);
    return (await memberList(t, admin, group!.id)).map((m) => `${m.externalId}:${m.source}`).sort();
  };
  const storedMembers = async (groupId: string) =>
    (await t.service.database.db.collection('memberships').find({ group: groupId }).toArray()).map((m) => `${m.externalId as string}:${m.source as string}`).sort();

  it('when a course turns class sync on, then its students are in [class], [cohort] and [Internal]/[External] groups of the course, with source class; instructors in none', async () => {
    const course = await newCourse();
    const a = await student(course, { class: TUTORIAL_1, cohort: INT_COHORT, mode: 'internal' });
    const b = await student(course, { class: TUTORIAL_1, cohort: INT_COHORT, mode: 'internal', status: 'completed' });
    const c = await student(course, { class: TUTORIAL_2, cohort: EXT_COHORT, mode: 'external' });
    const teacher = await putUser(t, hr, userBody({ type: 'staff' }));
    await enrol(t, hr, course, teacher, { status: 'in_progress', role: 'instructor', class: TUTORIAL_1, cohort: INT_COHORT, mode: 'internal' });

    const res = await t.api.put(`/api/v1/courses/${course}/class-sync`).set(admin).send({ enabled: true }).expect(201);
    expect(res.body).to.include({ course, enabled: true, state: 'active', endsAt: null });
    expect(res.body.jobId).to.be.a('string');
    const job = await waitForJob(t, admin, res.body.jobId as string);
    expect(job.result).to.include({ course, groups: 6, groupsCreated: 6, added: 9, removed: 0 });
    // Every user enrolled in the course is weighed (the instructor too: they may have been a student).
    expect(job.progress).to.deep.equal({ done: 4, total: 4 });

    const groups = await courseGroups(course);
    expect([...groups.keys()].sort()).to.deep.equal([`[${EXT_COHORT}]`, `[${INT_COHORT}]`, '[External]', '[Internal]', `[${TUTORIAL_1}]`, `[${TUTORIAL_2}]`].sort());
    for (const g of groups.values()) expect(g.course).to.equal(course);
    expect(await membersOf(groups.get(`[${TUTORIAL_1}]`))).to.deep.equal([`${a}:class`, `${b}:class`].sort());
    expect(await membersOf(groups.get(`[${INT_COHORT}]`))).to.deep.equal([`${a}:class`, `${b}:class`].sort());
    expect(await membersOf(groups.get('[Internal]'))).to.deep.equal([`${a}:class`, `${b}:class`].sort());
    expect(await membersOf(groups.get('[External]'))).to.deep.equal([`${c}:class`]);
    expect(groups.get(`[${TUTORIAL_1}]`)!.memberCount).to.equal(2);
    // Stored as listed, through the membership store, with history.
    expect(await storedMembers(groups.get(`[${TUTORIAL_2}]`)!.id)).to.deep.equal([`${c}:class`]);
    const history = await historyOf(t, admin, groups.get(`[${TUTORIAL_2}]`)!.id);
    expect(history).to.have.length(1);
    expect(history[0]).to.include({ externalId: c, action: 'added', source: 'class' });
    expect(history[0]!.reason).to.contain(course);

    const settings = (await t.api.get(`/api/v1/courses/${course}/class-sync`).set(admin).expect(200)).body;
    expect(settings).to.include({ course, enabled: true, state: 'active', groups: 6, endsAt: null });
    expect(settings.lastSyncAt).to.be.a('string');
    const enabledAt = new Date(settings.enabledAt as string);
    const until = new Date(enabledAt);
    until.setUTCMonth(until.getUTCMonth() + 5);
    // Five calendar months (a day of month past the target month's end is clamped to it).
    expect(new Date(settings.syncUntil as string).getTime()).to.be.within(until.getTime() - 4 * 86_400_000, until.getTime());
    const stored = await t.service.database.db.collection('class_sync').findOne({ _id: course as never });
    expect(stored).to.include({ enabled: true });
  });

  it('when the course or the body is wrong, then 404 or a 400 naming every bad field, and nothing is written', async () => {
    await t.api.get('/api/v1/courses/NOPE-999/class-sync').set(admin).expect(404);
    const before = await storedState(t.service.database.db);
    await t.api.put('/api/v1/courses/NOPE-999/class-sync').set(admin).send({ enabled: true }).expect(404);
    const course = await newCourse();
    const mid = await storedState(t.service.database.db);
    const bad = await t.api.put(`/api/v1/courses/${course}/class-sync`).set(admin).send({ enabled: 'yes', endsAt: 'soon', colour: 'red' }).expect(400);
    expect((bad.body.errors as Array<{ path: string }>).map((e) => e.path).sort()).to.deep.equal(['colour', 'enabled', 'endsAt']);
    // An instant on a day that does not exist (joi's isoDate() alone reads it as 2 March).
    const impossible = await t.api.put(`/api/v1/courses/${course}/class-sync`).set(admin).send({ enabled: true, endsAt: '2027-02-30T00:00:00.000Z' }).expect(400);
    expect((impossible.body.errors as Array<{ path: string; message: string }>).map((e) => [e.path, e.message])).to.deep.equal([
      ['endsAt', 'must be a real calendar date and time (got "2027-02-30T00:00:00.000Z")'],
    ]);
    const missing = await t.api.put(`/api/v1/courses/${course}/class-sync`).set(admin).send({}).expect(400);
    expect((missing.body.errors as Array<{ path: string }>).map((e) => e.path)).to.deep.equal(['enabled']);
    expect(await storedState(t.service.database.db)).to.deep.equal(mid);
    expect(Object.keys(mid)).to.include.members(Object.keys(before));
    // Roles: viewers read, only writers of groups change it.
    await t.api.get(`/api/v1/courses/${course}/class-sync`).set(await t.auth('viewer')).expect(200);
    await t.api.put(`/api/v1/courses/${course}/class-sync`).set(hr).send({ enabled: true }).expect(403);
    const never = (await t.api.get(`/api/v1/courses/${course}/class-sync`).set(admin).expect(200)).body;
    expect(never).to.deep.equal({ course, enabled: false, enabledAt: null, endsAt: null, syncUntil: null, state: 'disabled', lastSyncAt: null, groups: 0 });
  });

  it('when a student changes class, then by the time the enrolment write answers they moved group, and the old group stays even when empty', async () => {
    const course = await newCourse();
    const s = await student(course, { class: TUTORIAL_1, cohort: INT_COHORT, mode: 'internal' });
    await enable(course);
    await enrol(t, hr, course, s, { status: 'in_progress', role: 'student', class: TUTORIAL_2, cohort: INT_COHORT, mode: 'internal' });
    const groups = await courseGroups(course);
    expect(await storedMembers(groups.get(`[${TUTORIAL_2}]`)!.id)).to.deep.equal([`${s}:class`]);
    expect(await storedMembers(groups.get(`[${TUTORIAL_1}]`)!.id)).to.deep.equal([]);
    expect(groups.get(`[${TUTORIAL_1}]`)!.memberCount).to.equal(0);
    expect(groups.get(`[${TUTORIAL_2}]`)!.memberCount).to.equal(1);
    expect(await storedMembers(groups.get(`[${INT_COHORT}]`)!.id)).to.deep.equal([`${s}:class`]);
    const left = await historyOf(t, admin, groups.get(`[${TUTORIAL_1}]`)!.id, { action: 'removed' });
    expect(left).to.have.length(1);
    expect(left[0]).to.include({ externalId: s, source: 'class' });
    expect(left[0]!.reason).to.contain('no longer');
    // Leaving the course, or becoming an instructor, takes them out of every class group.
    await enrol(t, hr, course, s, { status: 'in_progress', role: 'instructor', class: TUTORIAL_2, cohort: INT_COHORT, mode: 'internal' });
    for (const g of (await courseGroups(course)).values()) expect(await storedMembers(g.id), g.name).to.deep.equal([]);
    expect((await courseGroups(course)).size).to.equal(4);
  });

  it('when a new class appears in an enrolment, then its group is made with that student', async () => {
    const course = await newCourse();
    await student(course, { class: TUTORIAL_1, mode: 'internal' });
    await enable(course);
    expect((await courseGroups(course)).has('[Seminar_9|WED|04:00PM|H11]')).to.equal(false);
    const s = await student(course, { class: 'Seminar_9|WED|04:00PM|H11', mode: 'internal' });
    const groups = await courseGroups(course);
    const seminar = groups.get('[Seminar_9|WED|04:00PM|H11]');
    expect(await storedMembers(seminar!.id)).to.deep.equal([`${s}:class`]);
    expect(seminar!.memberCount).to.equal(1);
    expect(await storedMembers(groups.get('[Internal]')!.id)).to.have.length(2);
    const stored = await t.service.database.db.collection('groups').findOne({ _id: seminar!.id as never });
    expect(stored).to.include({ scope: course, name: '[Seminar_9|WED|04:00PM|H11]', type: 'manual', manualMembers: 'keep-staff' });
  });

  it('when students are external, then [External] holds every one of them whatever the cohort, and their cohort has its own group', async () => {
    const course = await newCourse();
    const ext = await student(course, { class: TUTORIAL_1, cohort: EXT_COHORT, mode: 'external' });
    const extInIntCohort = await student(course, { class: TUTORIAL_1, cohort: INT_COHORT, mode: 'external' });
    const int = await student(course, { class: TUTORIAL_1, cohort: INT_COHORT, mode: 'internal' });
    await enable(course);
    const groups = await courseGroups(course);
    expect(await membersOf(groups.get('[External]'))).to.deep.equal([`${ext}:class`, `${extInIntCohort}:class`].sort());
    expect(await membersOf(groups.get('[Internal]'))).to.deep.equal([`${int}:class`]);
    expect(await membersOf(groups.get(`[${EXT_COHORT}]`))).to.deep.equal([`${ext}:class`]);
    expect(await membersOf(groups.get(`[${INT_COHORT}]`))).to.deep.equal([`${extInIntCohort}:class`, `${int}:class`].sort());
    // Switching to internal attendance moves them at once.
    await enrol(t, hr, course, extInIntCohort, { status: 'in_progress', role: 'student', class: TUTORIAL_1, cohort: INT_COHORT, mode: 'internal' });
    expect(await storedMembers(groups.get('[External]')!.id)).to.deep.equal([`${ext}:class`]);
    expect(await storedMembers(groups.get('[Internal]')!.id)).to.deep.equal([`${extInIntCohort}:class`, `${int}:class`].sort());
  });

  it('when staff and a learner are added by hand, then the next sync removes the learner and keeps the staff member, and history says why', async () => {
    const course = await newCourse();
    const s = await student(course, { class: TUTORIAL_1, mode: 'internal' });
    await enable(course);
    const group = (await courseGroups(course)).get(`[${TUTORIAL_1}]`)!;
    const staff = await putUser(t, hr, userBody({ type: 'staff' }));
    const learner = await putUser(t, hr, userBody({ type: 'learner' }));
    await t.api.put(`/api/v1/groups/${group.id}/members/${staff}`).set(admin).expect(201);
    await t.api.put(`/api/v1/groups/${group.id}/members/${learner}`).set(admin).expect(201);
    const res = await t.api.post(`/api/v1/groups/${group.id}/sync`).set(admin).send({}).expect(202);
    const job = await waitForJob(t, admin, res.body.jobId as string);
    expect(job.result).to.include({ course, removed: 1, added: 0 });
    expect(await storedMembers(group.id)).to.deep.equal([`${s}:class`, `${staff}:manual`].sort());
    const added = (await historyOf(t, admin, group.id, { action: 'added', externalId: staff }))[0]!;
    expect(added.reason).to.match(/staff, so the class group sync of course .* keeps them/);
    const removed = await historyOf(t, admin, group.id, { action: 'removed' });
    expect(removed.map((h) => [h.externalId, h.source])).to.deep.equal([[learner, 'manual']]);
    expect(removed[0]!.reason).to.contain('not staff');
    expect((await courseGroups(course)).get(`[${TUTORIAL_1}]`)!.memberCount).to.equal(2);
  });

  it('when a sync would empty most of a class group at once, then the safety valve holds those removals until an admin confirms', async () => {
    const course = await newCourse();
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await student(course, { class: TUTORIAL_1 }));
    await enable(course);
    const group = (await courseGroups(course)).get(`[${TUTORIAL_1}]`)!;
    // A feed that moves ten of twelve at once while the sync is off, then the sync turned on again.
    await t.api.put(`/api/v1/courses/${course}/class-sync`).set(admin).send({ enabled: false }).expect(200);
    for (const id of ids.slice(0, 10)) await enrol(t, hr, course, id, { status: 'in_progress', role: 'student', class: TUTORIAL_2 });
    await enable(course);
    expect(await storedMembers(group.id)).to.have.length(12);
    const settings = (await t.api.get(`/api/v1/courses/${course}/class-sync`).set(admin).expect(200)).body;
    expect(settings).to.include({ heldRemovals: 10 });
    expect(settings.lastError).to.match(/^Safety valve/);
    // Additions were applied.
    expect(await storedMembers((await courseGroups(course)).get(`[${TUTORIAL_2}]`)!.id)).to.have.length(10);
    const res = await t.api.post(`/api/v1/groups/${group.id}/sync`).set(admin).send({ confirmRemovals: true }).expect(202);
    expect((await waitForJob(t, admin, res.body.jobId as string)).result).to.include({ removed: 10 });
    expect(await storedMembers(group.id)).to.deep.equal(ids.slice(10).map((id) => `${id}:class`).sort());
    const after = (await t.api.get(`/api/v1/courses/${course}/class-sync`).set(admin).expect(200)).body;
    expect(after.lastError).to.equal(undefined);
    expect(after.heldRemovals).to.equal(undefined);
  });

  it('when anyone but an admin deletes a class group, then 403 saying only an admin can; an admin may', async () => {
    const course = await newCourse();
    await student(course, { class: TUTORIAL_1 });
    await enable(course);
    const group = (await courseGroups(course)).get(`[${TUTORIAL_1}]`)!;
    const [support, viewer] = [await t.auth('support'), await t.auth('viewer')];
    const before = await storedState(t.service.database.db);
    const refused = await t.api.delete(`/api/v1/groups/${group.id}`).set(support).expect(403);
    expect(refused.headers['content-type']).to.match(/application\/problem\+json/);
    expect(refused.body.detail).to.match(/only an admin can remove it/);
    await t.api.delete(`/api/v1/groups/${group.id}`).set(viewer).expect(403);
    expect(await storedState(t.service.database.db)).to.deep.equal(before);
    await t.api.delete(`/api/v1/groups/${group.id}`).set(admin).expect(204);
    expect(await t.service.database.db.collection('groups').findOne({ _id: group.id as never })).to.equal(null);
    // A global group is deleted by support as before.
    const global = await t.api.post('/api/v1/groups').set(admin).send({ name: uniq('Global '), type: 'manual' }).expect(201);
    await t.api.delete(`/api/v1/groups/${global.body.id as string}`).set(await t.auth('support')).expect(204);
  });

  it('when two courses share a class name, then each has its own group; a global group may have the same name', async () => {
    const one = await newCourse();
    const two = await newCourse();
    const a = await student(one, { class: TUTORIAL_1 });
    const b = await student(two, { class: TUTORIAL_1 });
    const global = await t.api.post('/api/v1/groups').set(admin).send({ name: `[${TUTORIAL_1}]`, type: 'manual' });
    expect([201, 409]).to.include(global.status);
    await enable(one);
    await enable(two);
    const g1 = (await courseGroups(one)).get(`[${TUTORIAL_1}]`)!;
    const g2 = (await courseGroups(two)).get(`[${TUTORIAL_1}]`)!;
    expect(g1.id).to.not.equal(g2.id);
    expect(await storedMembers(g1.id)).to.deep.equal([`${a}:class`]);
    expect(await storedMembers(g2.id)).to.deep.equal([`${b}:class`]);
    const named = await t.service.database.db.collection('groups').find({ nameLower: `[${TUTORIAL_1}]`.toLowerCase() }).toArray();
    expect(named.map((g) => g.scope as string)).to.include.members(['', one, two]);
    // A second global group of that name is still refused.
    await t.api.post('/api/v1/groups').set(admin).send({ name: `[${TUTORIAL_1}]`, type: 'manual' }).expect(409);
  });

  it('when class sync is turned off, then groups and members stay as they are and nothing moves them', async () => {
    const course = await newCourse();
    const s = await student(course, { class: TUTORIAL_1, mode: 'internal' });
    await enable(course);
    const off = await t.api.put(`/api/v1/courses/${course}/class-sync`).set(admin).send({ enabled: false }).expect(200);
    expect(off.body).to.include({ enabled: false, state: 'disabled', groups: 2 });
    expect(off.body.jobId).to.equal(undefined);
    const groups = await courseGroups(course);
    expect(await storedMembers(groups.get(`[${TUTORIAL_1}]`)!.id)).to.deep.equal([`${s}:class`]);
    await enrol(t, hr, course, s, { status: 'in_progress', role: 'student', class: TUTORIAL_2, mode: 'internal' });
    expect(await storedMembers(groups.get(`[${TUTORIAL_1}]`)!.id)).to.deep.equal([`${s}:class`]);
    expect((await courseGroups(course)).has(`[${TUTORIAL_2}]`)).to.equal(false);
    const refused = await t.api.post(`/api/v1/groups/${groups.get(`[${TUTORIAL_1}]`)!.id}/sync`).set(admin).send({}).expect(409);
    expect(refused.body.detail).to.contain('disabled');
    // Turning it on again syncs at once.
    await enable(course);
    expect(await storedMembers((await courseGroups(course)).get(`[${TUTORIAL_2}]`)!.id)).to.deep.equal([`${s}:class`]);
    expect(await storedMembers(groups.get(`[${TUTORIAL_1}]`)!.id)).to.deep.equal([]);
  });

  it('when 5 months have passed since enabling (or endsAt came first), then state is ended and syncing stops by itself', async () => {
    const course = await newCourse();
    const s = await student(course, { class: TUTORIAL_1, mode: 'internal' });
    const enabledAt = new Date('2026-01-31T09:00:00.000Z');
    t.clock.now = () => enabledAt;
    const on = await enable(course);
    expect(on).to.include({ enabledAt: enabledAt.toISOString(), syncUntil: '2026-06-30T09:00:00.000Z', state: 'active' });
    // An endsAt before the 5 months wins; one after does not.
    const early = await t.api.put(`/api/v1/courses/${course}/class-sync`).set(admin).send({ enabled: true, endsAt: '2026-03-01T00:00:00Z' });
    expect(early.status, JSON.stringify(early.body)).to.equal(200);
    expect(early.body).to.include({
      enabledAt: enabledAt.toISOString(),
      endsAt: '2026-03-01T00:00:00.000Z',
      syncUntil: '2026-03-01T00:00:00.000Z',
    });
    expect((await t.api.put(`/api/v1/courses/${course}/class-sync`).set(admin).send({ enabled: true, endsAt: '2026-12-01T00:00:00Z' }).expect(200)).body).to.include({
      syncUntil: '2026-06-30T09:00:00.000Z',
    });
    t.clock.now = () => new Date('2026-06-30T08:59:59.000Z');
    expect((await t.api.get(`/api/v1/courses/${course}/class-sync`).set(admin).expect(200)).body).to.include({ state: 'active' });
    t.clock.now = () => new Date('2026-06-30T09:00:00.000Z');
    expect((await t.api.get(`/api/v1/courses/${course}/class-sync`).set(admin).expect(200)).body).to.include({ state: 'ended', enabled: true });
    const groups = await courseGroups(course);
    // Neither an enrolment change, nor a sync asked for, nor the nightly run moves anyone any more.
    await enrol(t, hr, course, s, { status: 'in_progress', role: 'student', class: TUTORIAL_2, mode: 'internal' });
    expect(await storedMembers(groups.get(`[${TUTORIAL_1}]`)!.id)).to.deep.equal([`${s}:class`]);
    const refused = await t.api.post(`/api/v1/groups/${groups.get(`[${TUTORIAL_1}]`)!.id}/sync`).set(admin).send({}).expect(409);
    expect(refused.body.detail).to.contain('ended');
    // The nightly fan-out (its own occurrence, so that no other test's run is this one).
    const occurrence = new Date(Date.now() + 3_600_000).toISOString();
    const fanOutId = await t.service.scheduler.enqueue(CLASS_SYNC_ALL_JOB, { occurrence }, { actor: 'test', jobId: `${CLASS_SYNC_ALL_JOB}:${uniq('t')}` });
    const fanOut = await waitForJob(t, admin, fanOutId);
    expect((fanOut.result!.jobs as string[]).filter((j) => j.startsWith(`class-sync:${course}:`))).to.deep.equal([]);
    expect(await storedMembers(groups.get(`[${TUTORIAL_1}]`)!.id)).to.deep.equal([`${s}:class`]);
    expect((await courseGroups(course)).has(`[${TUTORIAL_2}]`)).to.equal(false);
  });

  it('when the nightly run comes, then each active course is synced: a learner added by hand leaves', async () => {
    const course = await newCourse();
    await student(course, { class: TUTORIAL_1 });
    await enable(course);
    const group = (await courseGroups(course)).get(`[${TUTORIAL_1}]`)!;
    const learner = await putUser(t, hr, userBody());
    await t.api.put(`/api/v1/groups/${group.id}/members/${learner}`).set(admin).expect(201);
    const nightly = await t.service.scheduler.enqueue(NIGHTLY_SYNC_JOB, {}, { actor: 'test', jobId: `${NIGHTLY_SYNC_JOB}:${uniq('t')}` });
    const fanOut = await waitForJob(t, admin, (await waitForJob(t, admin, nightly)).result!.classSyncJobId as string);
    const mine = (fanOut.result!.jobs as string[]).find((j) => j.startsWith(`class-sync:${course}:nightly:`));
    expect(mine).to.be.a('string');
    await waitForJob(t, admin, mine!);
    expect((await storedMembers(group.id)).some((m) => m.startsWith(`${learner}:`))).to.equal(false);
  });
});
