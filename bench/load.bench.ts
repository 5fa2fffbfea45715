// Load benchmark (issue 14): 200 concurrent clients (loopback only) for LOAD_SECONDS mixing group member reads,
// user PATCHes, single enrolments (autocannon, 195 connections) and 1,000-user batches (5 HR feeds, hrFeed below),
// while a full sync of LOAD_USERS users runs, against a real service process with its embedded database. Prints
// per kind the requests, the statuses and the p50/p95/p99 latencies; for batches, how many were written in the
// window and after it, and each one's time from its first sending to written (a batch refused 503 by admission,
// platform/admission.ts, is sent again after its Retry-After, and that wait counts in its time). Checks that no
// answer but admission's refusals was a 5xx and that every group's final membership equals a recompute from the
// stored users. The full size (50,000 users, 60 s) is the default; LOAD_USERS=5000
// LOAD_SECONDS=15 is a quick run. Figures go to bench/load-results.json (not results.json: running this alone
// must not erase the other benches' figures).
//
// `npm run bench load` runs it; `node --import tsx bench/load.bench.ts` too.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { MongoClient } from 'mongodb';
import { spawnService } from '../test/helpers/child-service.js';
import { freePort } from '../test/helpers/ports.js';
import { runWhenMain, type BenchResult } from './print.js';

const USERS = Number(process.env.LOAD_USERS ?? 50_000);
const SECONDS = Number(process.env.LOAD_SECONDS ?? 60);
const DEPARTMENTS = ['Sales', 'Operations', 'Engineering'];
const STATUSES = ['subscribed', 'in_progress', 'completed'];
const KEY = 'agk_load_bench_bootstrap_key_0000000001';
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const userId = (i: number) => `L${String(i).padStart(6, '0')}`;
const aUser = (i: number, department = DEPARTMENTS[i % 3]!) => ({
  externalId: userId(i), email: `load${i}@example.com`, firstName: 'Ana', lastName: `N${i}`, type: 'learner', status: 'active', fields: { department },
});

async function api(port: number, method: string, p: string, body?: unknown, key = KEY): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1${p}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!) : 0;
}

/** HR feeds sending 1,000-user batches, one after another each. */
const HR_FEEDS = 5;
/** A batch started in the window is sent again after each 503 until it is written, for at most this long after the window. */
const BATCH_GRACE_MS = 120_000;

interface Attempt {
  status: number;
  ms: number;
  /** Answered before the window ended. */
  inWindow: boolean;
  /** The 503's detail: admission's refusal names BULK_REQUESTS_IN_FLIGHT. */
  detail?: string;
}
interface BatchOutcome {
  attempts: Attempt[];
  /** From its first sending to the answer that wrote it (Retry-After waits included); undefined when never written. */
  writtenAfterMs?: number;
  writtenInWindow: boolean;
}

/**
 * One HR feed, as a real one behaves: the next batch once the last is written; a batch answered 503 is sent again
 * after its Retry-After. Not autocannon: it cannot wait out a Retry-After, and it drops what is in flight at the
 * end of the window, where a batch started in the window is followed here until it is written.
 */
async function hrFeed(port: number, key: string, windowEnds: number, nextBatch: () => string): Promise<BatchOutcome[]> {
  const out: BatchOutcome[] = [];
  while (Date.now() < windowEnds) {
    const body = nextBatch();
    const outcome: BatchOutcome = { attempts: [], writtenInWindow: false };
    out.push(outcome);
    const first = Date.now();
    for (;;) {
      const sent = Date.now();
      let res: Response;
      try {
        res = await fetch(`http://127.0.0.1:${port}/api/v1/users/batch`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
          body,
          signal: AbortSignal.timeout(windowEnds + BATCH_GRACE_MS - sent),
        });
      } catch {
        outcome.attempts.push({ status: 0, ms: Date.now() - sent, inWindow: Date.now() <= windowEnds });
        break;
      }
      const answer = (await res.json().catch(() => ({}))) as { detail?: string };
      const attempt: Attempt = { status: res.status, ms: Date.now() - sent, inWindow: Date.now() <= windowEnds };
      outcome.attempts.push(attempt);
      if (res.status === 200) {
        outcome.writtenAfterMs = Date.now() - first;
        outcome.writtenInWindow = Date.now() <= windowEnds;
        break;
      }
      if (res.status !== 503) break;
      attempt.detail = answer.detail;
      const wait = Number(res.headers.get('retry-after') ?? 1) * 1000;
      if (Date.now() + wait > windowEnds + BATCH_GRACE_MS) break;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  return out;
}

interface Kind {
  name: string;
  connections: number;
  method: 'GET' | 'PATCH' | 'PUT' | 'POST';
  request: () => { path: string; body?: string };
}

export async function run(): Promise<BenchResult[]> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-load-'));
  await chmod(dataDir, 0o711);
  const dbPort = await freePort();
  // The removal valve would hold a sync's removals when random department changes empty a group; the bench
  // checks that membership follows the rules exactly, so it is off here.
  const svc = await spawnService({ DATA_DIR: dataDir, EMBEDDED_DB_PORT: String(dbPort), BOOTSTRAP_ADMIN_KEY: KEY, LOG_LEVEL: 'info', REMOVAL_SAFETY_SHARE: '1', ...(process.env.BULK_REQUESTS_IN_FLIGHT ? { BULK_REQUESTS_IN_FLIGHT: process.env.BULK_REQUESTS_IN_FLIGHT } : {}) }, 300_000);
  const port = svc.port;
  try {
    // Several integrations read members: keys of their own (the per-key limit applies to each).
    const readerKeys: string[] = [];
    for (let i = 0; i < 4; i++) readerKeys.push(String((await api(port, 'POST', '/keys', { name: `lms ${i}`, role: 'integration' })).json.key));
    const hrKey = String((await api(port, 'POST', '/keys', { name: 'hr feed', role: 'hr-feed' })).json.key);
    await api(port, 'PUT', '/fields/department', { label: 'Department', type: 'select', options: DEPARTMENTS });
    await api(port, 'PUT', '/courses/C1', { title: 'Onboarding' });
    const groups: Record<string, string> = {};
    for (const [name, rule] of Object.entries({
      sales: { conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Sales' }] } },
      completedC1: { conditions: { all: [{ fact: 'enrollment', params: { course: 'C1' }, path: '$.status', operator: 'equal', value: 'completed' }] } },
    })) {
      groups[name] = String((await api(port, 'POST', '/groups', { name, type: 'automatic', rule })).json.id);
    }
    const loadStarted = Date.now();
    for (let start = 0; start < USERS; start += 10_000) {
      const res = await api(port, 'POST', '/users/batch', { users: Array.from({ length: Math.min(10_000, USERS - start) }, (_, k) => aUser(start + k)) }, hrKey);
      if (res.status !== 200) throw new Error(`loading users: ${res.status} ${JSON.stringify(res.json)}`);
    }
    console.log(`loaded ${USERS} users in ${((Date.now() - loadStarted) / 1000).toFixed(1)} s`);

    const sync = await api(port, 'POST', '/sync', {});
    const syncJob = String(sync.json.jobId);

    let batchNo = 0;
    const kinds: Kind[] = [
      { name: 'members read', connections: 120, method: 'GET', request: () => ({ path: `/api/v1/groups/${pick(Object.values(groups))}/members?limit=100` }) },
      { name: 'user PATCH', connections: 40, method: 'PATCH', request: () => ({ path: `/api/v1/users/${userId(Math.floor(Math.random() * USERS))}`, body: JSON.stringify({ fields: { department: pick(DEPARTMENTS) } }) }) },
      { name: 'enrolment PUT', connections: 35, method: 'PUT', request: () => ({ path: `/api/v1/courses/C1/enrollments/${userId(Math.floor(Math.random() * USERS))}`, body: JSON.stringify({ status: pick(STATUSES) }) }) },
    ];
    const nextBatch = () => {
      const from = (batchNo++ * 1000) % Math.max(1, USERS - 1000);
      return JSON.stringify({ users: Array.from({ length: 1000 }, (_, k) => aUser(from + k, pick(DEPARTMENTS))) });
    };
    const loadAtStart = os.loadavg()[0]!;
    const windowEnds = Date.now() + SECONDS * 1000;
    const feeds = Promise.all(Array.from({ length: HR_FEEDS }, () => hrFeed(port, hrKey, windowEnds, nextBatch)));
    const results = await Promise.all(
      kinds.map(
        (kind) =>
          new Promise<{ kind: Kind; times: number[]; statuses: Map<number, number>; errors: number; unanswered: number }>((resolve, reject) => {
            const times: number[] = [];
            const statuses = new Map<number, number>();
            let connection = 0;
            const instance = autocannon(
              {
                url: `http://127.0.0.1:${port}`,
                connections: kind.connections,
                duration: SECONDS,
                timeout: 120,
                headers: { 'content-type': 'application/json' },
                setupClient: (client) => {
                  const key = kind.method === 'GET' ? readerKeys[connection++ % readerKeys.length]! : hrKey;
                  client.setHeaders({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
                },
                requests: [{ method: kind.method, setupRequest: (req) => ({ ...req, ...kind.request() }) }],
              },
              (err, result) => {
                if (err) reject(err);
                else {
                  const errors = result.errors + result.timeouts;
                  // Sent but neither answered nor failed when the clients stopped (autocannon drops them).
                  resolve({ kind, times, statuses, errors, unanswered: Math.max(0, result.requests.sent - times.length - errors) });
                }
              },
            );
            instance.on('response', (_client, status: number, _bytes, ms: number) => {
              times.push(ms);
              statuses.set(status, (statuses.get(status) ?? 0) + 1);
            });
          }),
      ),
    );

    const loadAtEnd = Math.round(os.loadavg()[0]! * 100) / 100;
    const batches = (await feeds).flat();

    // The full sync finishes; the reactions owed (if any) are replayed; then membership is compared.
    const until = Date.now() + 30 * 60_000;
    for (;;) {
      const job = await api(port, 'GET', `/jobs/${syncJob}`);
      if (job.json.status === 'completed' || job.json.status === 'failed') {
        if (job.json.status === 'failed') throw new Error(`the full sync failed: ${JSON.stringify(job.json)}`);
        break;
      }
      if (Date.now() > until) throw new Error('the full sync did not finish');
      await new Promise((r) => setTimeout(r, 1000));
    }
    const client = await MongoClient.connect(`mongodb://127.0.0.1:${dbPort}/?directConnection=true`);
    const mismatches: string[] = [];
    try {
      const db = client.db('autogroups');
      // The clients have stopped, but requests they gave up on may still be running in the service (a batch answers
      // after its reaction). Quiet means: no reaction owed and the change feed, which every write of users or
      // memberships appends to, still for 5 s.
      let head = -1;
      for (let still = 0; still < 5; ) {
        await new Promise((r) => setTimeout(r, 1000));
        const now = ((await db.collection('change_feed_head').findOne({})) as { seq?: number } | null)?.seq ?? 0;
        const owed = await db.collection('user_event_writes').countDocuments({});
        still = now === head && owed === 0 ? still + 1 : 0;
        head = now;
      }
      const users = await db.collection('users').find({}, { projection: { _id: 1, status: 1, fields: 1, enrollments: 1 } }).toArray();
      const expected = {
        sales: users.filter((u) => u.status === 'active' && u.fields?.department === 'Sales').map((u) => String(u._id)).sort(),
        completedC1: users.filter((u) => u.status === 'active' && u.enrollments?.C1?.status === 'completed').map((u) => String(u._id)).sort(),
      };
      for (const [name, id] of Object.entries(groups)) {
        const members = (await db.collection('memberships').find({ group: id }).toArray()).map((m) => String(m.externalId)).sort();
        const want = expected[name as keyof typeof expected];
        if (JSON.stringify(members) !== JSON.stringify(want)) mismatches.push(`${name}: ${members.length} members, a recompute gives ${want.length}`);
        // The count a group view shows (group_counts), kept by syncs and reactions.
        const counted = ((await db.collection('group_counts').findOne({ _id: id as never })) as { memberCount?: number } | null)?.memberCount ?? 0;
        if (counted !== members.length) mismatches.push(`${name}: the stored member count is ${counted}, its members ${members.length}`);
      }
    } finally {
      await client.close();
    }

    const out: BenchResult[] = [];
    let fiveXx = 0;
    for (const { kind, times, statuses, errors, unanswered } of results) {
      times.sort((a, b) => a - b);
      const five = [...statuses].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
      fiveXx += five;
      console.log(`${kind.name.padEnd(18)} ${String(times.length).padStart(7)} requests  ${[...statuses].map(([s, n]) => `${s}×${n}`).join(' ')}  errors ${errors}  unanswered at the end ${unanswered}  p50 ${percentile(times, 50)} ms  p95 ${percentile(times, 95)} ms  p99 ${percentile(times, 99)} ms`);
      out.push(
        { name: `load ${kind.name}: requests`, value: times.length, unit: `in ${SECONDS} s, ${kind.connections} connections` },
        { name: `load ${kind.name}: p50`, value: percentile(times, 50), unit: 'ms' },
        { name: `load ${kind.name}: p95`, value: percentile(times, 95), unit: 'ms' },
        { name: `load ${kind.name}: p99`, value: percentile(times, 99), unit: 'ms' },
        { name: `load ${kind.name}: 5xx`, value: five, unit: `responses (${statuses.get(503) ?? 0} of them 503)` },
        { name: `load ${kind.name}: connection errors and timeouts`, value: errors, unit: 'requests' },
        { name: `load ${kind.name}: still running when the clients stopped`, value: unanswered, unit: 'requests' },
      );
    }
    // Batches: each counted once, from its first sending to the answer that wrote it (its Retry-After waits included).
    const written = batches.filter((b) => b.writtenAfterMs !== undefined);
    const toWritten = written.map((b) => b.writtenAfterMs!).sort((a, b) => a - b);
    const attempts = batches.flatMap((b) => b.attempts);
    const refusals = attempts.filter((a) => a.status === 503 && a.detail?.includes('BULK_REQUESTS_IN_FLIGHT'));
    const refusalMs = refusals.map((a) => a.ms).sort((a, b) => a - b);
    const writingMs = attempts.filter((a) => a.status === 200).map((a) => a.ms).sort((a, b) => a - b);
    const writingInWindowMs = attempts.filter((a) => a.status === 200 && a.inWindow).map((a) => a.ms).sort((a, b) => a - b);
    // What the old bench measured per request: every sending's answer, a refusal (answered at once, to be sent again) included.
    const answeredMs = attempts.filter((a) => a.status !== 0).map((a) => a.ms).sort((a, b) => a - b);
    const failed = attempts.filter((a) => a.status !== 200 && !refusals.includes(a));
    fiveXx += failed.filter((a) => a.status >= 500).length;
    console.log(`1,000-user batch   ${batches.length} started in the window by ${HR_FEEDS} feeds: ${batches.filter((b) => b.writtenInWindow).length} written in it, ${written.length - batches.filter((b) => b.writtenInWindow).length} after it, ${batches.length - written.length} never; to written p50 ${percentile(toWritten, 50)} ms  p95 ${percentile(toWritten, 95)} ms  p99 ${percentile(toWritten, 99)} ms; ${attempts.length} sendings: ${writingMs.length} written (p50 ${percentile(writingMs, 50)} ms; in the window ${writingInWindowMs.join(', ')} ms), ${refusals.length} refused 503 by admission (p50 ${percentile(refusalMs, 50)} ms, p99 ${percentile(refusalMs, 99)} ms), ${failed.length} failed otherwise ${failed.map((a) => a.status).join(' ')}`);
    out.push(
      { name: 'load 1,000-user batch: batches started in the window', value: batches.length, unit: `by ${HR_FEEDS} HR feeds, each sending its next once the last is written` },
      { name: 'load 1,000-user batch: written within the window', value: batches.filter((b) => b.writtenInWindow).length, unit: 'batches' },
      { name: 'load 1,000-user batch: never written', value: batches.length - written.length, unit: `batches (followed ${BATCH_GRACE_MS / 1000} s past the window)` },
      { name: 'load 1,000-user batch: to written, p50', value: percentile(toWritten, 50), unit: 'ms from its first sending, Retry-After waits included' },
      { name: 'load 1,000-user batch: to written, p95', value: percentile(toWritten, 95), unit: 'ms' },
      { name: 'load 1,000-user batch: to written, p99', value: percentile(toWritten, 99), unit: 'ms' },
      { name: 'load 1,000-user batch: the sending that wrote it, p50', value: percentile(writingMs, 50), unit: 'ms (in the window and after it)' },
      { name: 'load 1,000-user batch: the sending that wrote it within the window, p50', value: percentile(writingInWindowMs, 50), unit: `ms (max ${writingInWindowMs.at(-1) ?? 0} ms)` },
      { name: 'load 1,000-user batch: any sending answered (written or refused), p50', value: percentile(answeredMs, 50), unit: `ms (p95 ${percentile(answeredMs, 95)} ms, p99 ${percentile(answeredMs, 99)} ms)` },
      { name: 'load 1,000-user batch: sendings refused 503 by admission', value: refusals.length, unit: `of ${attempts.length} sendings` },
      { name: 'load 1,000-user batch: a refusal, p99', value: percentile(refusalMs, 99), unit: 'ms' },
      { name: 'load 1,000-user batch: sendings failed otherwise', value: failed.length, unit: 'sendings (another status or no answer)' },
    );
    out.push({ name: 'load: load average (1 min) at the window start and end', value: loadAtEnd, unit: `at the end; ${loadAtStart.toFixed(2)} at the start (2 cores)` });
    out.push({ name: 'load: differences from a recompute (members, stored counts)', value: mismatches.length, unit: `in ${Object.keys(groups).length} groups (${USERS} users)` });
    await writeFile(path.join(path.dirname(fileURLToPath(import.meta.url)), 'load-results.json'), JSON.stringify({ users: USERS, seconds: SECONDS, measuredAt: new Date().toISOString(), results: out }, null, 2) + '\n');
    // A batch refused by admission is a 503 by design (answered at once, sent again after Retry-After); any other 5xx fails the run.
    if (fiveXx > 0 || mismatches.length > 0) throw new Error(`load: ${fiveXx} 5xx answers other than admission's; membership mismatches: ${mismatches.join('; ') || 'none'}`);
    return out;
  } finally {
    if (process.env.LOAD_SERVICE_LOG) await writeFile(process.env.LOAD_SERVICE_LOG, svc.output.join('\n') + '\n');
    svc.child.kill('SIGTERM');
    await svc.exited;
    await rm(dataDir, { recursive: true, force: true });
  }
}

await runWhenMain(import.meta.url, run);
