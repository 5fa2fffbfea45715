// Time-based rules flip each user at the instant their result changes, not at the nightly sync: real seconds-scale
// rules against the real database, through HTTP, with the stored flips checked too.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { parseDate, useTimeZone, zoneOffset } from '../../../src/rules/dates.js';
import { createGroup, defineField, enrol, getGroup, historyOf, memberIds, putCourse, putUser, userBody, waitForJob, type Auth } from '../membership/membership-helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Observed {
  /** Wall clock of the last poll that still saw the old membership, and of the first that saw the new one. */
  lastBefore: number;
  firstAfter: number;
}

/** Polls membership every 100 ms until `externalId`'s membership becomes `member`. */
async function watchFlip(t: TestService, admin: Auth, groupId: string, externalId: string, member: boolean, timeoutMs: number): Promise<Observed> {
  const deadline = Date.now() + timeoutMs;
  let lastBefore = Date.now();
  for (;;) {
    const polledAt = Date.now();
    const ids = await memberIds(t, admin, groupId);
    if (ids.includes(externalId) === member) return { lastBefore, firstAfter: Date.now() };
    lastBefore = polledAt;
    if (Date.now() > deadline) throw new Error(`${externalId} did not become ${member ? 'a member' : 'a non-member'} in ${timeoutMs} ms`);
    await sleep(100);
  }
}

const flipsOf = (t: TestService, groupId: string) => t.service.database.db.collection('time_flips').find({ group: groupId }).toArray();

describe('Time-based rules: a user joins or leaves at the instant the rule says', function () {
  this.timeout(60_000);
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  before(async () => {
    t = await startTestService('timeflips');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    await putCourse(t, hr, 'CERT-1', 'Certification');
  });
  after(async () => t.stop());

  it('when a completion passes a 0.0001-day window (8.64 s), then the user leaves within 5 s of that instant, never before, with the reason', async () => {
    const days = 0.0001;
    const group = await createGroup(t, admin, {
      type: 'automatic',
      rule: { conditions: { all: [{ fact: 'enrollment', params: { course: 'CERT-1' }, path: '$.completedAt', operator: 'withinLastDays', value: days }] } },
    });
    const ana = await putUser(t, hr, userBody());
    await enrol(t, hr, 'CERT-1', ana, { status: 'completed' });
    expect(await memberIds(t, admin, group.id)).to.deep.equal([ana]);

    // The flip is stored with the data, at completedAt + 8.64 s (+1 ms: "within" holds through the last millisecond).
    const user = await t.service.database.db.collection<{ _id: string; enrollments: Record<string, { completedAt: Date }> }>('users').findOne({ _id: ana });
    const instant = user!.enrollments['CERT-1']!.completedAt.getTime() + days * 86_400_000 + 1;
    const stored = await flipsOf(t, group.id);
    expect(stored.map((f) => [f.externalId, (f.at as Date).getTime(), f.reason])).to.deep.equal([[ana, instant, 'completed CERT-1 within the last 0.0001 days no longer holds']]);

    // The group, explain and a preview at a later instant all say it.
    expect((await getGroup(t, admin, group.id)).sync!.nextChangeAt).to.equal(new Date(instant).toISOString());
    const explained = (await t.api.get(`/api/v1/groups/${group.id}/explain/${ana}`).set(admin).expect(200)).body as Record<string, unknown>;
    expect(explained).to.include({ member: true, matches: true, changesAt: new Date(instant).toISOString(), changeReason: 'completed CERT-1 within the last 0.0001 days no longer holds' });
    const later = await t.api.post(`/api/v1/groups/${group.id}/preview`).set(admin).send({ at: new Date(instant + 60_000).toISOString() }).expect(200);
    expect(later.body).to.include({ toAdd: 0, toRemove: 1, flipsBefore: 1 });
    expect(later.body.sampleRemove).to.deep.equal([ana]);
    const present = await t.api.post(`/api/v1/groups/${group.id}/preview`).set(admin).send({}).expect(200);
    expect(present.body).to.include({ toAdd: 0, toRemove: 0 });
    expect(present.body).not.to.have.property('flipsBefore');
    // An instant in the past is refused, with any other bad field, and changes nothing.
    const refused = await t.api.post(`/api/v1/groups/${group.id}/preview`).set(admin).send({ at: '2020-01-01T00:00:00Z', rule: { conditions: { all: [{ fact: 'nope' }] } } }).expect(400);
    expect(JSON.stringify(refused.body)).to.contain('"at"').and.to.contain('rule.');
    await t.api.post(`/api/v1/groups/${group.id}/preview`).set(admin).send({ at: 'tomorrow' }).expect(400);

    const seen = await watchFlip(t, admin, group.id, ana, false, 20_000);
    expect(seen.lastBefore, 'still a member up to the instant').to.be.at.least(instant - 1000);
    expect(seen.firstAfter, 'left at or after the instant').to.be.at.least(instant);
    expect(seen.firstAfter - instant, 'left within 5 s of the instant').to.be.below(5000);

    const history = await historyOf(t, admin, group.id);
    expect(history.map((h) => [h.externalId, h.action])).to.deep.equal([[ana, 'removed'], [ana, 'added']]);
    expect(new Date(history[0]!.at).getTime()).to.equal(instant);
    expect(history[0]!.reason).to.contain('completed CERT-1 within the last 0.0001 days no longer holds');
    expect(history[0]!.actor).to.equal('job:time-flips');
    // The count follows once the wake-up that removed the user settles (right after its writes).
    for (let i = 0; i < 50 && (await getGroup(t, admin, group.id)).memberCount !== 0; i++) await sleep(100);
    expect((await getGroup(t, admin, group.id)).memberCount).to.equal(0);
    // Handled: no flip is left for the user (nothing more can change by time alone).
    expect(await flipsOf(t, group.id)).to.deep.equal([]);
    expect((await getGroup(t, admin, group.id)).sync!.nextChangeAt).to.equal(null);
    expect((await t.api.get(`/api/v1/groups/${group.id}/explain/${ana}`).set(admin).expect(200)).body).to.include({ member: false, changesAt: null });
  });

  it('when the nightly full sync runs, then it reports the time-based corrections it made: 0 after the flips, 1 for a flip lost behind the API', async () => {
    const full = async () => {
      const res = await t.api.post('/api/v1/sync').set(admin).send({}).expect(202);
      return (await waitForJob(t, admin, res.body.jobId as string, { timeoutMs: 30_000 })).result as { timeCorrections: number };
    };
    expect((await full()).timeCorrections).to.equal(0);
    const days = 0.00003; // 2.6 s
    const group = await createGroup(t, admin, {
      type: 'automatic',
      rule: { conditions: { all: [{ fact: 'enrollment', params: { course: 'CERT-1' }, path: '$.completedAt', operator: 'withinLastDays', value: days }] } },
    });
    const cy = await putUser(t, hr, userBody());
    await enrol(t, hr, 'CERT-1', cy, { status: 'completed' });
    expect(await memberIds(t, admin, group.id)).to.deep.equal([cy]);
    // The flip is lost (deleted behind the API): nothing moves the user at the instant; the full sync does, and says so.
    await t.service.database.db.collection('time_flips').deleteMany({ group: group.id });
    await sleep(days * 86_400_000 + 1500);
    expect(await memberIds(t, admin, group.id)).to.deep.equal([cy]);
    expect((await full()).timeCorrections).to.equal(1);
    expect(await memberIds(t, admin, group.id)).to.deep.equal([]);
  });

  it('when a rule stops reading the clock, then the group shows no nextChangeAt and explain no changesAt', async () => {
    const group = await createGroup(t, admin, {
      type: 'automatic',
      rule: { conditions: { all: [{ fact: 'enrollment', params: { course: 'CERT-1' }, path: '$.completedAt', operator: 'withinLastDays', value: 365 }] } },
    });
    const dee = await putUser(t, hr, userBody());
    await enrol(t, hr, 'CERT-1', dee, { status: 'completed' });
    expect((await getGroup(t, admin, group.id)).sync!.nextChangeAt).to.be.a('string');
    const res = await t.api.put(`/api/v1/groups/${group.id}/rule`).set(admin).send({ rule: { conditions: { all: [{ fact: 'enrollment', params: { course: 'CERT-1' }, path: '$.status', operator: 'equal', value: 'completed' }] } } });
    expect(res.status, JSON.stringify(res.body)).to.be.oneOf([200, 202]);
    if (res.body.jobId) await waitForJob(t, admin, res.body.jobId as string);
    expect((await getGroup(t, admin, group.id)).sync!.nextChangeAt).to.equal(null);
    expect((await t.api.get(`/api/v1/groups/${group.id}/explain/${dee}`).set(admin).expect(200)).body).to.include({ member: true, changesAt: null });
  });

  it('when a user is hired "today" under a rule of a fraction of a day, then they leave when that many hours past midnight in TIMEZONE come', async () => {
    await defineField(t, hr, 'hireDate', { label: 'Hire date', type: 'date' });
    // The hire date is today in UTC (the service's TIMEZONE here); the window ends 4 s from now.
    const today = new Date().toISOString().slice(0, 10);
    const instant = Date.now() + 4000;
    const days = (instant - Date.parse(`${today}T00:00:00Z`)) / 86_400_000;
    const group = await createGroup(t, admin, { type: 'automatic', rule: { conditions: { all: [{ fact: 'field', params: { key: 'hireDate' }, operator: 'withinLastDays', value: days }] } } });
    const bo = await putUser(t, hr, userBody({ fields: { hireDate: today } }));
    expect(await memberIds(t, admin, group.id)).to.deep.equal([bo]);
    const seen = await watchFlip(t, admin, group.id, bo, false, 20_000);
    expect(seen.firstAfter).to.be.at.least(instant);
    expect(seen.firstAfter - instant).to.be.below(5000);
    const [removed] = await historyOf(t, admin, group.id);
    expect(removed!.reason).to.contain(`hireDate within the last ${days} days no longer holds`);
  });
});

// Calendar dates are days in TIMEZONE. A date field's window ends at midnight there plus the fraction of a day as
// hours: with the hire date "today" in the zone, a fraction is chosen that ends the window seconds from now, and the
// user must leave at that instant, which differs from the UTC reading by the zone's offset (Lisbon is UTC+0 in
// winter, when its instant equals UTC's; Sydney is UTC+11 then). DST days themselves are unit-tested (next-change).
for (const zone of ['Europe/Lisbon', 'Australia/Sydney']) {
  describe(`Time-based rules under TIMEZONE=${zone}`, function () {
    this.timeout(60_000);
    let t: TestService;
    let admin: Auth;
    let hr: Auth;
    before(async () => {
      t = await startTestService('timezone', { TIMEZONE: zone });
      admin = await t.auth('admin');
      hr = await t.auth('hr-feed');
      await defineField(t, hr, 'hireDate', { label: 'Hire date', type: 'date' });
    });
    after(async () => {
      await t.stop();
      useTimeZone('UTC'); // the zone is the process's: leave it as the other test files expect it
    });

    it('when a hire date is today there, then the user leaves when midnight there plus the fraction of a day comes', async () => {
      const today = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
      const midnight = parseDate(today); // in the service's zone: the process's, set by its start
      expect(midnight).to.equal(Date.parse(`${today}T00:00:00Z`) - zoneOffset(midnight));
      if (zone === 'Australia/Sydney') expect(Date.parse(`${today}T00:00:00Z`) - midnight).to.be.oneOf([10 * 3_600_000, 11 * 3_600_000]);
      const instant = Date.now() + 4000;
      const days = (instant - midnight) / 86_400_000;
      const group = await createGroup(t, admin, { type: 'automatic', rule: { conditions: { all: [{ fact: 'field', params: { key: 'hireDate' }, operator: 'withinLastDays', value: days }] } } });
      const ana = await putUser(t, hr, userBody({ fields: { hireDate: today } }));
      expect(await memberIds(t, admin, group.id)).to.deep.equal([ana]);
      const flip = (await t.service.database.db.collection('time_flips').findOne({ group: group.id }))!;
      expect(Math.abs((flip.at as Date).getTime() - instant)).to.be.below(2);
      expect(flip.zone).to.equal(zone);
      const seen = await watchFlip(t, admin, group.id, ana, false, 20_000);
      expect(seen.firstAfter).to.be.at.least(instant);
      expect(seen.firstAfter - instant).to.be.below(5000);
    });
  });
}

describe('Time-based rules when TIMEZONE changes between starts', function () {
  this.timeout(90_000);
  after(() => useTimeZone('UTC'));

  it('when the service starts under another TIMEZONE, then the stored flips are dropped and a full sync computes them again there', async () => {
    const t = await startTestService('tzchange');
    const admin = await t.auth('admin');
    const hr = await t.auth('hr-feed');
    await defineField(t, hr, 'hireDate', { label: 'Hire date', type: 'date' });
    const group = await createGroup(t, admin, { type: 'automatic', rule: { conditions: { all: [{ fact: 'field', params: { key: 'hireDate' }, operator: 'withinLastDays', value: 30 }] } } });
    const hired = new Date(Date.now() - 10 * 86_400_000).toISOString().slice(0, 10);
    const ana = await putUser(t, hr, userBody({ fields: { hireDate: hired } }));
    const flips = () => t.service.database.db.collection('time_flips').find({ group: group.id }).toArray();
    const [utc] = await flips();
    expect(utc).to.include({ externalId: ana, zone: 'UTC' });
    expect((utc!.at as Date).getTime()).to.equal(Date.parse(`${hired}T00:00:00Z`) + 30 * 86_400_000 + 1);

    // Stopped without dropping its database, then started on it under Sydney's zone.
    await t.service.stop();
    const again = await startTestService('tzchange', { TIMEZONE: 'Australia/Sydney', MONGODB_DB: t.service.config.databaseName });
    try {
      const deadline = Date.now() + 30_000;
      let sydney: Array<Record<string, unknown>> = [];
      while (Date.now() < deadline) {
        sydney = await again.service.database.db.collection('time_flips').find({ group: group.id }).toArray();
        if (sydney.length === 1 && sydney[0]!.zone === 'Australia/Sydney') break;
        await sleep(200);
      }
      expect(sydney.map((f) => [f.externalId, f.zone])).to.deep.equal([[ana, 'Australia/Sydney']]);
      // 30 days after the hire date's midnight in Sydney: 10 or 11 hours before the UTC reading.
      expect(Date.parse(`${hired}T00:00:00Z`) + 30 * 86_400_000 + 1 - (sydney[0]!.at as Date).getTime()).to.be.oneOf([10 * 3_600_000, 11 * 3_600_000]);
    } finally {
      await again.stop();
    }
  });
});
