// Time flips across processes: the API process schedules, worker processes (ROLE=worker) wake up and flip. Two
// workers flip each user once (one history entry, the count right); flips stored before every worker stopped are
// applied by a worker started afterwards, at their instant.
import { expect } from 'chai';
import { workersOf } from '../../helpers/workers.js';
import { startTestService, type TestService } from '../../helpers/service.js';
import { createGroup, getGroup, historyOf, memberIds, putCourse, userBody, type Auth } from '../membership/membership-helpers.js';

const DAYS = 0.0001; // 8.64 s
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Time flips across worker processes', function () {
  this.timeout(180_000);
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  const pool = workersOf(() => t, { takeoverAfterMs: 3_000 });
  const db = () => t.service.database.db;
  const lapsing = { conditions: { all: [{ fact: 'enrollment', params: { course: 'CERT-1' }, path: '$.completedAt', operator: 'withinLastDays', value: DAYS }] } };

  before(async () => {
    // This process serves the API only: every job, the wake-ups included, runs in the workers.
    t = await startTestService('flipworkers', { ROLE: 'api' });
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    await putCourse(t, hr, 'CERT-1', 'Certification');
  });
  after(async () => {
    await pool.stopAll();
    await t.stop();
  });

  /** Completes CERT-1 for `n` new users in one batch; returns their ids and the instant they all lapse. */
  async function certify(n: number, prefix: string): Promise<{ ids: string[]; instant: number }> {
    const users = Array.from({ length: n }, (_, i) => userBody({ externalId: `${prefix}${String(i).padStart(4, '0')}` }));
    await t.api.post('/api/v1/users/batch').set(hr).send({ users }).expect(200);
    const enrollments = users.map((u) => ({ course: 'CERT-1', externalId: u.externalId, status: 'completed' }));
    await t.api.post('/api/v1/enrollments/batch').set(hr).send({ enrollments }).expect(200);
    const stored = await db().collection<{ _id: string; enrollments: Record<string, { completedAt: Date }> }>('users').find({ _id: { $in: users.map((u) => u.externalId) } }).toArray();
    const instants = new Set(stored.map((u) => u.enrollments['CERT-1']!.completedAt.getTime() + DAYS * 86_400_000 + 1));
    return { ids: users.map((u) => u.externalId).sort(), instant: Math.max(...instants) };
  }

  async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`not done within ${timeoutMs} ms`);
      await sleep(100);
    }
    return Date.now();
  }

  it('when two workers run the wake-ups, then 300 users due at once leave once each: one history entry per user, count 0', async () => {
    await Promise.all([pool.start(), pool.start()]);
    const group = await createGroup(t, admin, { type: 'automatic', rule: lapsing });
    const { ids, instant } = await certify(300, 'two');
    expect(await memberIds(t, admin, group.id)).to.deep.equal(ids);
    expect(await db().collection('time_flips').countDocuments({ group: group.id })).to.equal(300);

    const done = await until(async () => (await memberIds(t, admin, group.id)).length === 0, 30_000);
    expect(done - instant, 'all left within 5 s of their instant').to.be.below(5000);
    const history = await historyOf(t, admin, group.id);
    const removed = history.filter((h) => h.action === 'removed');
    expect(removed.map((h) => h.externalId).sort()).to.deep.equal(ids);
    for (const h of removed) expect(new Date(h.at).getTime()).to.be.at.least(instant - 1000);
    // The count follows once the wake-up that removed them settles (right after its writes).
    await until(async () => (await getGroup(t, admin, group.id)).memberCount === 0, 10_000);
    expect(await db().collection('memberships').countDocuments({ group: group.id })).to.equal(0);
    expect(await db().collection('time_flips').countDocuments({ group: group.id })).to.equal(0);
    // Every wake-up finished, and together they removed each user once.
    await until(async () => (await db().collection('jobs').countDocuments({ name: 'time-flips', status: { $ne: 'completed' } })) === 0, 10_000);
    const runs = await db().collection<{ result: { removed: number } }>('jobs').find({ name: 'time-flips' }).toArray();
    expect(runs.reduce((n, r) => n + r.result.removed, 0)).to.equal(300);
    await pool.stopAll();
  });

  it('when every worker stops after the flip was scheduled, then a worker started later still flips the user at the instant', async () => {
    const first = await pool.start();
    const group = await createGroup(t, admin, { type: 'automatic', rule: lapsing });
    const { ids, instant } = await certify(1, 'restart');
    expect(await memberIds(t, admin, group.id)).to.deep.equal(ids);
    // The worker is killed outright: nothing of the flip lives in any process.
    first.child.kill('SIGKILL');
    await first.exited;
    await sleep(1500);
    expect(Date.now()).to.be.below(instant - 3000);
    await pool.start();
    let lastSeen = Date.now();
    const done = await until(async () => {
      const member = (await memberIds(t, admin, group.id)).length === 1;
      if (member) lastSeen = Date.now();
      return !member;
    }, 30_000);
    expect(lastSeen, 'a member until the instant').to.be.at.least(instant - 1000);
    expect(done - instant, 'left within 5 s of the instant').to.be.below(5000);
    const [removed] = await historyOf(t, admin, group.id);
    expect(removed).to.include({ action: 'removed', actor: 'job:time-flips' });
    expect(new Date(removed!.at).getTime()).to.equal(instant);
  });
});
