// Time flips on the embedded database (FerretDB v1 over PostgreSQL), through the running service (ROLE=all, the
// default JOB_POLL_MS of 1 s, wake-ups by the real Agenda job):
//
// 1. 50,000 users under "completed CERT-1 within the last 365 days", completions spread over the past year, so their
//    flips are spread over the next one: the group's first sync (which stores 50,000 flips), a second sync (which
//    should rewrite none), and what one wake-up costs with nothing due: its database commands and documents read,
//    and its time; and sync.nextChangeAt's cost.
// 2. 10,000 more users who completed CERT-2 at the same instant, under a rule whose window ends for all of them at
//    the same second: time from that second until every one of them has left (goal: ≤ 60 s).
//
// `npm run bench` runs it with the others; `node --import tsx bench/time-flips.bench.ts` runs it alone and writes
// bench/results-time-flips.json. TIME_FLIPS_BENCH_USERS / TIME_FLIPS_BENCH_DUE choose other sizes.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Collection, type FindCursor } from 'mongodb';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/platform/logger.js';
import { start, type Service } from '../src/lifecycle.js';
import { startEmbeddedDb } from '../src/platform/db/embedded-db.js';
import { createApiKey } from '../src/keys/api-keys.service.js';
import { usersCollection } from '../src/directory/user-store.js';
import type { UserDoc } from '../src/directory/user.model.js';
import { memberships } from '../src/membership/membership-store.js';
import { dueFlips, nextFlipOfGroup } from '../src/membership/time-flips.js';
import { freePort } from '../test/helpers/ports.js';
import { runWhenMain, type BenchResult } from './print.js';

const USERS = Number(process.env.TIME_FLIPS_BENCH_USERS ?? 50_000);
const DUE = Number(process.env.TIME_FLIPS_BENCH_DUE ?? 10_000);
const DAY = 86_400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function userDoc(id: string, course: string, completedAt: Date, now: Date): UserDoc {
  return {
    _id: id,
    email: `${id}@corp.example.com`,
    emailLower: `${id}@corp.example.com`,
    firstName: 'First',
    lastName: id,
    type: 'learner',
    status: 'active',
    fields: {},
    enrollments: { [course]: { status: 'completed', role: 'student', enrolledAt: completedAt, completedAt, updatedAt: now } as UserDoc['enrollments'][string] },
    createdAt: now,
    updatedAt: now,
  };
}

async function insertUsers(docs: UserDoc[]): Promise<void> {
  for (let i = 0; i < docs.length; i += 2000) await usersCollection().insertMany(docs.slice(i, i + 2000), { ordered: false });
}

const lapsing = (course: string, days: number) => ({
  conditions: { all: [{ fact: 'enrollment', params: { course }, path: '$.completedAt', operator: 'withinLastDays', value: days }] },
});

/**
 * The find commands `work` sends and the documents they return, counted by wrapping Collection.find (every read of
 * the flips is a find; a cursor's further batches are counted as documents, not commands).
 */
async function readsOf<T>(work: () => Promise<T>): Promise<{ value: T; commands: number; documents: number; ms: number }> {
  let commands = 0;
  let documents = 0;
  const proto = Collection.prototype as unknown as { find: (...args: unknown[]) => FindCursor };
  const find = proto.find;
  proto.find = function (this: Collection, ...args: unknown[]) {
    commands++;
    return find.apply(this, args).map((doc: unknown) => {
      documents++;
      return doc;
    });
  };
  const t0 = performance.now();
  try {
    const value = await work();
    return { value, commands, documents, ms: performance.now() - t0 };
  } finally {
    proto.find = find;
  }
}

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-bench-'));
  const embedded = await startEmbeddedDb({ dataDir: dir, port: await freePort() });
  const config = loadConfig({ MONGODB_URI: embedded.uri, MONGODB_DB: 'bench_time_flips', PORT: '0', LOG_LEVEL: 'silent', ROLE: 'all' });
  const service: Service = await start(config, createLogger('silent'));
  const { key } = await createApiKey('bench', 'admin');
  const base = `http://127.0.0.1:${service.port}/api/v1`;
  const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${base}${url}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
  const job = async (jobId: string) => {
    const t0 = performance.now();
    for (;;) {
      const j = await call('GET', `/jobs/${jobId}`);
      if (j.status === 'completed') return performance.now() - t0;
      if (j.status === 'failed') throw new Error(`job ${jobId} failed: ${String(j.error)}`);
      await sleep(200);
    }
  };
  try {
    const now = new Date();
    await call('PUT', '/courses/CERT-1', { title: 'Certification 1' });
    await call('PUT', '/courses/CERT-2', { title: 'Certification 2' });
    // 1. Completions spread evenly over the past year: one flip every ~10 minutes over the next.
    const spread = Array.from({ length: USERS }, (_, i) => userDoc(`y${String(i).padStart(6, '0')}`, 'CERT-1', new Date(now.getTime() - ((i + 0.5) / USERS) * 365 * DAY), now));
    await insertUsers(spread);
    // 2. Completions at one instant (a common completion date), their window chosen below to end at one second.
    const base2 = new Date(now.getTime() - DAY);
    await insertUsers(Array.from({ length: DUE }, (_, i) => userDoc(`z${String(i).padStart(6, '0')}`, 'CERT-2', base2, now)));

    const yearly = await call('POST', '/groups', { name: 'Certified (365 days)', type: 'automatic', rule: lapsing('CERT-1', 365) });
    const firstSyncMs = await job(String(yearly.jobId));
    const stored = await service.database.db.collection('time_flips').countDocuments({ group: yearly.id });
    if (stored !== USERS) throw new Error(`the first sync stored ${stored} flips, expected ${USERS}`);
    const flipIds = async () => (await service.database.db.collection('time_flips').find({ group: yearly.id }, { projection: { _id: 1 } }).limit(5).toArray()).map((d) => String(d._id));
    const sample = await flipIds();
    const resync = await call('POST', `/groups/${String(yearly.id)}/sync`, {});
    const secondSyncMs = await job(String(resync.jobId));

    // One wake-up with nothing due: what it reads.
    const wakes = [];
    for (let i = 0; i < 5; i++) wakes.push(await readsOf(() => dueFlips(new Date(), 2000)));
    const wake = wakes.sort((a, b) => a.ms - b.ms)[2]!;
    if (wake.value.due.length !== 0 || !wake.value.next) throw new Error(`a wake-up found ${wake.value.due.length} due, next ${String(wake.value.next)}`);
    const next = await readsOf(() => nextFlipOfGroup(String(yearly.id)));
    const days = await service.database.db.collection('time_flip_days').countDocuments({});

    // 2. The window of CERT-2 ends for all DUE users at one second, 90 s from now (time for the group's sync).
    const instant = Math.ceil((Date.now() + 90_000) / 1000) * 1000;
    const daysValue = (instant - 1 - base2.getTime()) / DAY;
    const due = await call('POST', '/groups', { name: 'Certified 2 (same day)', type: 'automatic', rule: lapsing('CERT-2', daysValue) });
    const dueSyncMs = await job(String(due.jobId));
    const members = await memberships().countDocuments({ group: String(due.id) });
    if (members !== DUE) throw new Error(`the CERT-2 group has ${members} members, expected ${DUE}`);
    if (Date.now() > instant) throw new Error('the CERT-2 group synced after its flips were due: raise the margin');
    let lastLeft = 0;
    let firstLeft = 0;
    for (;;) {
      const left = await memberships().countDocuments({ group: String(due.id) });
      if (left < DUE && !firstLeft) firstLeft = Date.now();
      if (left === 0) {
        lastLeft = Date.now();
        break;
      }
      if (Date.now() > instant + 600_000) throw new Error(`${left} of ${DUE} users still members 10 minutes after their instant`);
      await sleep(200);
    }
    const history = await service.database.db.collection('membership_history').countDocuments({ group: String(due.id), action: 'removed' });

    const label = `time flips, ${USERS.toLocaleString('en-US')} users spread over a year`;
    const dueLabel = `time flips, ${DUE.toLocaleString('en-US')} users due the same second`;
    const rows: BenchResult[] = [
      { name: `${label}: first group sync (stores every flip)`, value: Math.round(firstSyncMs), unit: 'ms' },
      { name: `${label}: second group sync (flips unchanged)`, value: Math.round(secondSyncMs), unit: 'ms' },
      { name: `${label}: second sync left flips in place`, value: (await flipIds()).join() === sample.join() ? 1 : 0, unit: 'yes=1' },
      { name: `${label}: wake-up with nothing due, find commands`, value: wake.commands, unit: 'commands' },
      { name: `${label}: wake-up with nothing due, documents read`, value: wake.documents, unit: 'documents' },
      { name: `${label}: wake-up with nothing due, time (median of 5)`, value: Math.round(wake.ms), unit: 'ms' },
      { name: `${label}: (group, day) documents`, value: days, unit: 'documents' },
      { name: `${label}: sync.nextChangeAt, find commands`, value: next.commands, unit: 'commands' },
      { name: `${label}: sync.nextChangeAt, documents read`, value: next.documents, unit: 'documents' },
      { name: `${label}: sync.nextChangeAt, time`, value: Math.round(next.ms), unit: 'ms' },
      { name: `${dueLabel}: group sync (stores the flips)`, value: Math.round(dueSyncMs), unit: 'ms' },
      { name: `${dueLabel}: first user left after the instant`, value: firstLeft - instant, unit: 'ms' },
      { name: `${dueLabel}: all flipped after the instant (goal ≤ 60,000)`, value: lastLeft - instant, unit: 'ms' },
      { name: `${dueLabel}: history entries written`, value: history, unit: 'entries' },
    ];
    return rows;
  } finally {
    await service.stop();
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await runWhenMain(import.meta.url, run, { keepIn: 'results-time-flips.json' });
