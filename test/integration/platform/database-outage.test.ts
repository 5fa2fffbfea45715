// The embedded database killed in the middle of an HR batch, in a real service process: requests answer 503
// problem documents with Retry-After within a bound instead of hanging, /ready says not ready, the service
// restarts its database by itself, and the HR feed's retry of the same batch ends exactly as a clean run would
// (every user once, exact membership, one history entry per real change).
import { expect } from 'chai';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { spawnService, type ChildService } from '../../helpers/child-service.js';
import { freePort } from '../../helpers/ports.js';

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  ms: number;
}

async function call(port: number, method: string, urlPath: string, key: string | undefined, body?: unknown, timeoutMs = 60_000): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`, {
    method,
    headers: { ...(key ? { Authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, ms: Date.now() - started };
}

/** The devdb process serving dataDir (Linux /proc). */
async function devdbPidUnder(dataDir: string): Promise<number | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('devdb') && cmdline.includes(dataDir)) return Number(entry);
  }
  return undefined;
}

/** Listens on the port as soon as the killed process has let it go (it takes a moment to die). */
async function holdPort(port: number, withinMs: number): Promise<net.Server> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const server = net.createServer((s) => s.destroy());
    try {
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
      return server;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(5);
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expectUnavailableProblem(a: Answer, what: string): void {
  expect(a.status, `${what}: ${JSON.stringify(a.body)}`).to.equal(503);
  expect(a.headers.get('content-type')).to.match(/^application\/problem\+json/);
  expect(a.body).to.include({ status: 503, title: 'Service unavailable' });
  expect(Number(a.headers.get('retry-after')), `${what}: Retry-After`).to.be.greaterThan(0);
}

describe('database outage (embedded database killed mid-batch)', function () {
  this.timeout(240_000);
  const key = 'agk_outage_test_bootstrap_key_0000000001';
  const USERS = 10_000;
  let dataDir: string;
  let dbPort: number;
  let svc: ChildService | undefined;

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-outage-'));
    await chmod(dataDir, 0o711); // reachable by nobody (see global-hooks.ts)
    dbPort = await freePort();
    svc = await spawnService({ DATA_DIR: dataDir, EMBEDDED_DB_PORT: String(dbPort), BOOTSTRAP_ADMIN_KEY: key, JOB_POLL_MS: '200' }, 120_000);
  });
  afterEach(async function () {
    // What the service logged about a failure is what explains it (its last lines may still be on their way).
    if (this.currentTest?.state !== 'failed') return;
    await sleep(1000);
    console.log(svc?.output.filter((l) => /"level":(40|50|60)/.test(l)).join('\n').slice(0, 20_000));
    // OUTAGE_DEBUG=1: the service's last lines too, whatever their level (the soak's runs keep them).
    if (process.env.OUTAGE_DEBUG) console.log(svc?.output.slice(-40).map((l) => l.slice(0, 400)).join('\n'));
  });
  after(async () => {
    if (svc && svc.child.exitCode === null) {
      svc.child.kill('SIGTERM');
      await svc.exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('when devdb is killed during a batch, then requests answer 503 with Retry-After at once, it comes back by itself, and the retried batch ends as a clean run', async () => {
    const port = svc!.port;
    expect((await call(port, 'PUT', '/api/v1/fields/department', key, { label: 'Department', type: 'select', options: ['Sales', 'Other'] })).status).to.be.oneOf([200, 201]);
    const group = await call(port, 'POST', '/api/v1/groups', key, {
      name: 'Sales',
      type: 'automatic',
      rule: { conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Sales' }] } },
    });
    expect(group.status, JSON.stringify(group.body)).to.equal(201);
    const groupId = String(group.body.id);
    const users = Array.from({ length: USERS }, (_, i) => ({
      externalId: `hr${i}`,
      email: `hr${i}@example.com`,
      firstName: 'Ana',
      lastName: `N${i}`,
      type: 'learner',
      status: 'active',
      fields: { department: i % 2 ? 'Sales' : 'Other' },
    }));
    const sales = users.filter((u) => u.fields.department === 'Sales').map((u) => u.externalId).sort();

    // Mid-batch: the kill lands once the first of its users is stored, while the rest are being written.
    const client = await MongoClient.connect(`mongodb://127.0.0.1:${dbPort}/?directConnection=true`, { serverSelectionTimeoutMS: 1000 });
    const db = client.db('autogroups');
    const firstBatch = call(port, 'POST', '/api/v1/users/batch', key, { users });
    const deadline = Date.now() + 60_000;
    while (!(await db.collection('users').findOne({ _id: 'hr0' as never }))) {
      if (Date.now() > deadline) throw new Error('the batch stored nothing within 60 s');
      await sleep(10);
    }
    await client.close(true);
    const devdb = await devdbPidUnder(dataDir);
    expect(devdb, 'devdb process').to.be.a('number');
    process.kill(devdb!, 'SIGKILL');
    const killedAt = Date.now();
    // Something else holds the port for a while, so the outage lasts longer than the driver's server selection:
    // the supervisor's restarts fail (and back off) until it is released. Connections to it are reset.
    const squatter = await holdPort(dbPort, 2000);

    const batchAnswer = await firstBatch;
    const batchMs = Date.now() - killedAt;
    // Either the writes were cut off (503), or they were all stored and the cut-off reaction is owed (200).
    if (batchAnswer.status !== 200) expectUnavailableProblem(batchAnswer, 'the batch in flight');
    expect(batchMs, 'the batch answered within 5 s of the kill').to.be.below(5000);

    const during = await Promise.all([
      call(port, 'GET', '/api/v1/users/hr1', key, undefined, 10_000),
      call(port, 'PATCH', '/api/v1/users/hr1', key, { lastName: 'Changed' }, 10_000),
      call(port, 'GET', `/api/v1/groups/${groupId}/members`, key, undefined, 10_000),
      call(port, 'GET', '/ready', undefined, undefined, 10_000),
    ]);
    for (const [i, a] of during.entries()) {
      expectUnavailableProblem(a, `request ${i} during the outage`);
      expect(a.ms, `request ${i} answered within 3 s`).to.be.below(3000);
    }
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
    const releasedAt = Date.now();

    let ready: Answer | undefined;
    while (Date.now() - releasedAt < 60_000) {
      ready = await call(port, 'GET', '/ready', undefined, undefined, 10_000);
      if (ready.status === 200) break;
      await sleep(100);
    }
    expect(ready?.status, 'ready again').to.equal(200);
    const recoveredMs = Date.now() - releasedAt;
    console.log(`      batch answered ${batchAnswer.status} ${batchMs} ms after the kill; requests during the outage: ${during.map((a) => `${a.status} in ${a.ms} ms`).join(', ')}; ready ${recoveredMs} ms after the port was free`);

    const retry = await call(port, 'POST', '/api/v1/users/batch', key, { users });
    expect(retry.status, JSON.stringify(retry.body)).to.equal(200);
    expect(retry.body).to.include({ failed: 0 });
    expect(Number(retry.body.created) + Number(retry.body.unchanged) + Number(retry.body.updated)).to.equal(USERS);

    const answeredAt = Date.now();
    // Whatever the outage cut off is owed to membership, and owed at once: within 10 s of the retried batch's answer,
    // with no sync asked for, membership, the member count and history are complete and exact.
    const after = await MongoClient.connect(`mongodb://127.0.0.1:${dbPort}/?directConnection=true`);
    try {
      const adb = after.db('autogroups');
      const state = async () => {
        const members = (await adb.collection('memberships').find({ group: groupId }).toArray()).map((m) => String(m.externalId)).sort();
        const history = await adb.collection('membership_history').find({ group: groupId }).toArray();
        const view = await call(port, 'GET', `/api/v1/groups/${groupId}`, key);
        return { members, history, count: Number(view.body.memberCount) };
      };
      let now = await state();
      while (now.members.length !== sales.length || now.history.length !== sales.length || now.count !== sales.length) {
        if (Date.now() - answeredAt > 10_000) break;
        await sleep(250);
        now = await state();
      }
      const settledMs = Date.now() - answeredAt;
      console.log(`      membership settled ${settledMs} ms after the retried batch answered`);
      const stored = await adb.collection('users').find({}, { projection: { _id: 1, emailLower: 1 } }).toArray();
      expect(stored.length, 'every user once').to.equal(USERS);
      expect(new Set(stored.map((u) => u.emailLower)).size).to.equal(USERS);
      expect(now.members, 'exactly the Sales users').to.deep.equal(sales);
      expect(now.history.filter((h) => h.action !== 'added'), 'no removal').to.deep.equal([]);
      expect(now.history.map((h) => String(h.externalId)).sort(), 'one history entry per member').to.deep.equal(sales);
      expect(now.count, 'the member count').to.equal(sales.length);
      expect(settledMs, 'settled within 10 s').to.be.below(10_000);
    } finally {
      await after.close();
    }
  });
});
