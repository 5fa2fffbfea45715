// Class group sync benchmark on the embedded database (FerretDB v1 over PostgreSQL): one course of 5,000 students in
// 200 classes and 20 cohorts, a fifth of them external (so 222 groups: classes, cohorts, [Internal], [External]).
//
// The first sync (every group made, 15,000 memberships written with their history), a second sync with nothing to
// change, and the latency of an enrolment write that moves a student to another class (membership follows before
// the write answers, so the write's latency is that latency). The syncs run as the class-sync job runs them
// (runClassSync), in this process. `npm run bench` runs it with the others; `node --import tsx
// bench/class-sync.bench.ts` runs it alone and writes bench/results-class-sync.json. CLASS_SYNC_BENCH_STUDENTS
// chooses another size.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/platform/logger.js';
import { start, type Service } from '../src/lifecycle.js';
import { startEmbeddedDb } from '../src/platform/db/embedded-db.js';
import { createApiKey } from '../src/keys/api-keys.service.js';
import { usersCollection } from '../src/directory/user-store.js';
import type { UserDoc } from '../src/directory/user.model.js';
import { putCourse } from '../src/directory/courses.service.js';
import { putClassSync, runClassSync, type ClassSyncResult } from '../src/class-sync/class-sync.service.js';
import { memberships } from '../src/membership/membership-store.js';
import { freePort } from '../test/helpers/ports.js';
import { measured, VALVE } from './membership.bench.js';
import { runWhenMain, type BenchResult } from './print.js';

const STUDENTS = Number(process.env.CLASS_SYNC_BENCH_STUDENTS ?? 5000);
const CLASSES = 200;
const COHORTS = 20;
const COURSE = 'AHIS190';
const MOVES = 50;

const className = (i: number) => `Tutorial_${i % CLASSES}|THU|01:00PM|C${String(i % CLASSES).padStart(3, '0')}`;

function studentDoc(i: number, now: Date): UserDoc {
  const id = `s${String(i).padStart(6, '0')}`;
  const external = i % 5 === 0;
  return {
    _id: id,
    email: `${id}@uni.example.com`,
    emailLower: `${id}@uni.example.com`,
    firstName: `First${i}`,
    lastName: `Last${i}`,
    type: 'learner',
    status: 'active',
    fields: {},
    enrollments: {
      [COURSE]: {
        status: 'in_progress',
        role: 'student',
        class: className(i),
        cohort: `AHIS190_2018_FHFYR_${external ? 'EXT' : 'INT'}_${i % COHORTS}`,
        mode: external ? 'external' : 'internal',
        enrolledAt: now,
        updatedAt: now,
      } as UserDoc['enrollments'][string],
    },
    createdAt: now,
    updatedAt: now,
  };
}

function synced(result: ClassSyncResult): Exclude<ClassSyncResult, { skipped: string }> {
  if ('skipped' in result) throw new Error(`the class sync was skipped: ${result.skipped}`);
  return result;
}

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-bench-'));
  const embedded = await startEmbeddedDb({ dataDir: dir, port: await freePort() });
  // ROLE=api: no job runs in the background; the syncs below run here, as the job would run them.
  const config = loadConfig({ MONGODB_URI: embedded.uri, MONGODB_DB: 'bench_class_sync', PORT: '0', LOG_LEVEL: 'silent', ROLE: 'api' });
  const service: Service = await start(config, createLogger('silent'));
  try {
    const now = new Date();
    for (let i = 0; i < STUDENTS; i += 2000) {
      const docs = [];
      for (let j = i; j < Math.min(STUDENTS, i + 2000); j++) docs.push(studentDoc(j, now));
      await usersCollection().insertMany(docs, { ordered: false });
    }
    await putCourse(COURSE, { title: 'Ancient History: Greece and Rome' });
    await putClassSync(COURSE, { enabled: true }, 'bench', service.scheduler, new Date());

    const opts = (jobId: string) => ({ jobId, at: new Date(), actor: 'bench', confirmRemovals: false, valve: VALVE, now: new Date() });
    const first = await measured(async () => synced(await runClassSync(COURSE, opts('bench-first'))));
    const stored = await memberships().countDocuments({});
    const expected = STUDENTS * 3;
    if (stored !== expected || first.value.added !== expected) throw new Error(`first sync: ${stored} memberships stored, ${first.value.added} added; expected ${expected}`);
    const noop = await measured(async () => synced(await runClassSync(COURSE, opts('bench-noop'))));
    if (noop.value.added || noop.value.removed) throw new Error(`the second sync changed something: ${JSON.stringify(noop.value)}`);

    // Moves through HTTP: each PUT answers once the student has changed group.
    const { key } = await createApiKey('bench', 'hr-feed');
    const base = `http://127.0.0.1:${service.port}/api/v1`;
    const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    const latencies: number[] = [];
    for (let m = 0; m < MOVES; m++) {
      const i = m * Math.floor(STUDENTS / MOVES);
      const doc = studentDoc(i, now).enrollments[COURSE]!;
      const body = { status: doc.status, role: doc.role, class: className(i + 1), cohort: doc.cohort, mode: doc.mode };
      const started = performance.now();
      const res = await fetch(`${base}/courses/${COURSE}/enrollments/${studentDoc(i, now)._id}`, { method: 'PUT', headers, body: JSON.stringify(body) });
      latencies.push(performance.now() - started);
      if (!res.ok) throw new Error(`move ${i}: ${res.status} ${await res.text()}`);
    }
    latencies.sort((a, b) => a - b);
    const moved = await memberships().countDocuments({ externalId: studentDoc(0, now)._id });
    if (moved !== 3) throw new Error(`after a move the student has ${moved} memberships, expected 3`);

    const label = `class sync ${STUDENTS.toLocaleString('en-US')} students, ${first.value.groups} groups`;
    return [
      { name: `${label}: first sync`, value: Math.round(first.ms), unit: 'ms' },
      { name: `${label}: first sync`, value: Math.round((expected / first.ms) * 1000), unit: 'memberships/s' },
      { name: `${label}: first sync peak RSS`, value: Math.round(first.peakRssMb), unit: 'MB' },
      { name: `${label}: no-op sync`, value: Math.round(noop.ms), unit: 'ms' },
      { name: `${label}: enrolment move, median`, value: Math.round(latencies[Math.floor(latencies.length / 2)]!), unit: 'ms' },
      { name: `${label}: enrolment move, p95`, value: Math.round(latencies[Math.floor(latencies.length * 0.95)]!), unit: 'ms' },
    ];
  } finally {
    await service.stop();
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await runWhenMain(import.meta.url, run, { keepIn: 'results-class-sync.json' });
