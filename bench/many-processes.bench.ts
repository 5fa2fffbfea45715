// Several processes on one embedded database, as docs/running-several-processes.md describes its budget: four
// ROLE=api and four ROLE=worker processes. HR batches go through the four API processes at once while single PATCHes
// move users between departments through all four; then every group's members and stored count are compared with
// a recompute from the stored users. It measures what the topology answers under bulk load, and checks that no
// request waits forever (each has a 120 s bound) and that nothing is lost.
//
// `npm run bench many-processes` runs it alone; MANY_PROCESSES_USERS (default 20,000) sets the users sent in batches.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { startEmbeddedDb } from '../src/platform/db/embedded-db.js';
import { freePort } from '../test/helpers/ports.js';
import { spawnService, type ChildService } from '../test/helpers/child-service.js';
import { runWhenMain, type BenchResult } from './print.js';

const API = 4;
const WORKERS = 4;
const USERS = Number(process.env.MANY_PROCESSES_USERS ?? 20_000);
const BATCH = 2_000;
const PATCHES = 800;
const DEPARTMENTS = Array.from({ length: 10 }, (_, i) => `D${i}`);
const KEY = 'agk_bench_many_processes_key_000000000001';
const TIMEOUT_MS = 120_000;

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : 0;
};

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-bench-procs-'));
  await chmod(dir, 0o711);
  const embedded = await startEmbeddedDb({ dataDir: dir, port: await freePort() });
  const children: ChildService[] = [];
  const env = (role: string) => ({ ROLE: role, MONGODB_URI: embedded.uri, MONGODB_DB: 'bench_procs', BOOTSTRAP_ADMIN_KEY: KEY, LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_BATCHES_PER_MINUTE: '0' });
  try {
    // One at a time: the first creates the indexes and the key.
    for (let i = 0; i < API; i++) children.push(await spawnService(env('api'), TIMEOUT_MS));
    for (let i = 0; i < WORKERS; i++) children.push(await spawnService(env('worker'), TIMEOUT_MS));
    const bases = children.slice(0, API).map((c) => `http://127.0.0.1:${c.port}/api/v1`);
    const headers = { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' };
    const call = async (base: string, method: string, url: string, body?: unknown) => {
      const started = performance.now();
      const res = await fetch(`${base}${url}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(TIMEOUT_MS) });
      const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      return { status: res.status, answer, ms: performance.now() - started };
    };

    await call(bases[0]!, 'PUT', '/fields/department', { label: 'Department', type: 'select', options: DEPARTMENTS });
    const groups: Record<string, string> = {};
    for (const d of DEPARTMENTS) {
      const g = await call(bases[0]!, 'POST', '/groups', { name: `Department ${d}`, type: 'automatic', rule: { conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: d }] } } });
      if (g.status !== 201) throw new Error(`group ${d}: ${g.status} ${JSON.stringify(g.answer)}`);
      groups[d] = String(g.answer.id);
    }

    const user = (i: number) => ({
      externalId: `P${String(i).padStart(6, '0')}`,
      email: `p${i}@procs.example.com`,
      firstName: 'Ana',
      lastName: `N${i}`,
      type: 'learner',
      status: 'active',
      fields: { department: DEPARTMENTS[i % DEPARTMENTS.length] },
    });
    const batches = Array.from({ length: USERS / BATCH }, (_, b) => Array.from({ length: BATCH }, (_, i) => user(b * BATCH + i)));
    const batchTimes: number[] = [];
    const patchTimes: number[] = [];
    const failures: string[] = [];
    const started = performance.now();
    // Each API process takes every fourth batch, one at a time; PATCHes of users already sent go through all four.
    const answered: number[] = [];
    const batchLoad = Promise.all(
      bases.map(async (base, p) => {
        for (let b = p; b < batches.length; b += API) {
          const r = await call(base, 'POST', '/users/batch', { users: batches[b] });
          if (r.status !== 200 || r.answer.failed) failures.push(`batch ${b}: ${r.status} ${JSON.stringify(r.answer).slice(0, 200)}`);
          batchTimes.push(r.ms);
          answered.push(b);
        }
      }),
    );
    const patchLoad = (async () => {
      let i = 0;
      while (i < PATCHES) {
        if (answered.length === 0) {
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        const wave = Array.from({ length: 8 }, () => i++).filter((n) => n < PATCHES);
        await Promise.all(
          wave.map(async (n) => {
            const b = answered[n % answered.length]!;
            const id = user(b * BATCH + ((n * 7919) % BATCH)).externalId;
            const r = await call(bases[n % API]!, 'PATCH', `/users/${id}`, { fields: { department: DEPARTMENTS[(n * 3) % DEPARTMENTS.length] } });
            if (r.status !== 200) failures.push(`PATCH ${id}: ${r.status} ${JSON.stringify(r.answer).slice(0, 200)}`);
            patchTimes.push(r.ms);
          }),
        );
      }
    })();
    await Promise.all([batchLoad, patchLoad]);
    const wallMs = performance.now() - started;

    // Compared with a recompute from the stored users, as soon as the load has stopped (no sync asked for), and
    // once more after any reaction still owed (failed, its write left open for replay) has been replayed.
    const client = await MongoClient.connect(embedded.uri);
    let wrong = 0;
    let countOff = 0;
    const countDiffs: string[] = [];
    const failedReactions = children.flatMap((c) => c.output).filter((l) => l.includes('a directory change listener failed')).length;
    try {
      const db = client.db('bench_procs');
      const owedUntil = Date.now() + 60_000;
      while ((await db.collection('user_event_writes').countDocuments({})) > 0 && Date.now() < owedUntil) await new Promise((r) => setTimeout(r, 500));
      const stored = await db.collection<{ _id: string; fields: { department: string } }>('users').find({}, { projection: { fields: 1 } }).toArray();
      for (const d of DEPARTMENTS) {
        const want = new Set(stored.filter((u) => u.fields.department === d).map((u) => u._id));
        const have = new Set((await db.collection<{ externalId: string }>('memberships').find({ group: groups[d] }).toArray()).map((m) => m.externalId));
        for (const u of have) if (!want.has(u)) wrong++;
        for (const u of want) if (!have.has(u)) wrong++;
        const counted = (await db.collection<{ memberCount: number }>('group_counts').findOne({ _id: groups[d] as never }))?.memberCount ?? 0;
        if (counted !== have.size) {
          countOff++;
          countDiffs.push(`${d}: stored ${counted}, ${have.size} memberships`);
        }
      }
    } finally {
      await client.close();
    }
    if (failures.length) throw new Error(`${failures.length} requests failed, e.g. ${failures.slice(0, 3).join('; ')}`);
    if (countDiffs.length) console.log(`counts that differ: ${countDiffs.join('; ')}`);
    return [
      { name: `${API} api + ${WORKERS} worker processes: users sent in batches of ${BATCH}`, value: USERS, unit: 'users' },
      { name: `${API} api + ${WORKERS} worker processes: batches and PATCHes, wall time`, value: Math.round(wallMs), unit: 'ms' },
      { name: `${API} api + ${WORKERS} worker processes: users/s through batches`, value: Math.round((USERS / wallMs) * 1000), unit: 'users/s' },
      { name: `${API} api + ${WORKERS} worker processes: batch answered p50`, value: Math.round(percentile(batchTimes, 50)), unit: 'ms' },
      { name: `${API} api + ${WORKERS} worker processes: batch answered max`, value: Math.round(Math.max(...batchTimes)), unit: 'ms' },
      { name: `${API} api + ${WORKERS} worker processes: PATCH during batches p50`, value: Math.round(percentile(patchTimes, 50)), unit: 'ms' },
      { name: `${API} api + ${WORKERS} worker processes: PATCH during batches p95`, value: Math.round(percentile(patchTimes, 95)), unit: 'ms' },
      { name: `${API} api + ${WORKERS} worker processes: memberships differing from a recompute`, value: wrong, unit: 'memberships' },
      { name: `${API} api + ${WORKERS} worker processes: groups whose stored count differs`, value: countOff, unit: 'groups' },
      { name: `${API} api + ${WORKERS} worker processes: reactions that failed (left open, replayed)`, value: failedReactions, unit: 'reactions' },
    ];
  } finally {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGTERM');
    await Promise.all(children.map((c) => c.exited));
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await runWhenMain(import.meta.url, run);
