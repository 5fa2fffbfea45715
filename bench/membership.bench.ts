// Membership benchmark on the embedded database (FerretDB v1 over PostgreSQL), each size in a database of its own:
// users with about 5 enrolments each × 100 automatic groups whose rules select 1-10% of users each.
//
// For every size: the first full sync (time, peak RSS of this process), a second full sync with nothing to change,
// and a full sync after 1% of users changed (behind the API, as drift only a sync repairs); beside them the
// database's own floor, measured in the same run: streaming the same users (with their enrolments) and inserting
// the same number of membership documents with insertMany. At the largest size, also the latency from a single-user
// write (PATCH through HTTP) to its membership being visible: membership is applied before the write answers, so
// the write's latency is that latency; and what reading one group costs (members, history, preview, group sync),
// with the history of a group a sync filled and of one that HR batches filled (its entries among every other group's).
//
// The full syncs run the way one worker runs them (every partition in turn, in this process); the jobs only add
// the scheduling around it. `npm run bench` runs it with the others; `node --import tsx bench/membership.bench.ts`
// runs it alone. MEMBERSHIP_BENCH_SIZES (e.g. "1000,10000") and MEMBERSHIP_BENCH_WRITES choose a quicker run.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Db } from 'mongodb';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/platform/logger.js';
import { start, type Service } from '../src/lifecycle.js';
import { startEmbeddedDb, type EmbeddedDb } from '../src/platform/db/embedded-db.js';
import { createApiKey } from '../src/keys/api-keys.service.js';
import { usersCollection } from '../src/directory/user-store.js';
import type { UserDoc } from '../src/directory/user.model.js';
import { toUserFacts } from '../src/directory/user-facts.js';
import { GroupModel } from '../src/groups/group.model.js';
import { compileRule, type RuleDocument } from '../src/rules/index.js';
import { finishRun, partitionCount, prepareRun, syncPartition, type FullSyncResult, type PartitionResult } from '../src/membership/full-sync.js';
import { syncGroup } from '../src/membership/group-sync.js';
import { freePort } from '../test/helpers/ports.js';
import { runWhenMain, type BenchResult } from './print.js';

const SIZES = (process.env.MEMBERSHIP_BENCH_SIZES ?? '1000,10000,50000').split(',').map((s) => Number(s.trim())).filter((n) => n > 0);
const WRITES = Number(process.env.MEMBERSHIP_BENCH_WRITES ?? 200);
/** Users per HR batch that fills the group HR changes filled. */
const HR_BATCH = 500;
export const GROUPS = 100;
export const COURSES = Array.from({ length: 20 }, (_, i) => `C${String(i).padStart(2, '0')}`);
export const DEPARTMENTS = Array.from({ length: 10 }, (_, i) => `Dept${i}`);
const REGIONS = Array.from({ length: 20 }, (_, i) => `region${i}`);
const DOMAINS = Array.from({ length: 50 }, (_, i) => `dom${i}`);
const STATUSES = ['subscribed', 'in_progress', 'completed', 'waitlisted', 'suspended'] as const;
export const VALVE = { share: 0.5, minMembers: 10 };

/** A deterministic generator, so that every run benchmarks the same data. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export function userDoc(i: number, rand: () => number, now: Date): UserDoc {
  const id = `u${String(i).padStart(7, '0')}`;
  const email = `person${i}@${DOMAINS[Math.floor(rand() * DOMAINS.length)]}.example.com`;
  const enrollments: UserDoc['enrollments'] = {};
  const picked = new Set<string>();
  while (picked.size < 5) picked.add(COURSES[Math.floor(rand() * COURSES.length)]!);
  for (const course of picked) {
    const status = STATUSES[Math.floor(rand() * STATUSES.length)]!;
    enrollments[course] = {
      status,
      role: 'student',
      enrolledAt: new Date(now.getTime() - Math.floor(rand() * 400) * 86_400_000),
      ...(status === 'completed' ? { completedAt: new Date(now.getTime() - Math.floor(rand() * 100) * 86_400_000) } : {}),
      updatedAt: now,
    } as UserDoc['enrollments'][string];
  }
  return {
    _id: id,
    email,
    emailLower: email,
    firstName: `First${i}`,
    lastName: `Last${i}`,
    type: rand() < 0.15 ? 'staff' : 'learner',
    status: 'active',
    fields: {
      department: DEPARTMENTS[Math.floor(rand() * DEPARTMENTS.length)]!,
      region: REGIONS[Math.floor(rand() * REGIONS.length)]!,
      level: 1 + Math.floor(rand() * 100),
    },
    enrollments,
    createdAt: now,
    updatedAt: now,
  };
}

/** 100 rules of five kinds, each selecting between about 1% and 10% of users. */
export function ruleFor(i: number): RuleDocument {
  const field = (key: string, operator: string, value: unknown) => ({ fact: 'field', params: { key }, operator, value });
  const course = COURSES[i % COURSES.length]!;
  switch (i % 5) {
    case 0: // 10% × (1 - L/100): 1-10%
      return { conditions: { all: [field('department', 'equal', DEPARTMENTS[i % 10]), field('level', 'greaterThan', (i * 7) % 90)] } } as RuleDocument;
    case 1: // 25% enrolled × 20% completed: 5%
      return { conditions: { all: [{ fact: 'enrollment', params: { course }, path: '$.status', operator: 'equal', value: 'completed' }] } };
    case 2: // 5% region or 2% email domain: ~7%
      return { conditions: { any: [field('region', 'equal', REGIONS[i % 20]), { fact: 'email', operator: 'includesText', value: `@${DOMAINS[i % 50]}.` }] } } as RuleDocument;
    case 3: // 25% × 40% × 20%: 2%
      return {
        conditions: {
          all: [
            { fact: 'enrollment', params: { course }, path: '$.status', operator: 'in', value: ['in_progress', 'completed'] },
            field('department', 'in', [DEPARTMENTS[i % 10], DEPARTMENTS[(i + 3) % 10]]),
          ],
        },
      } as RuleDocument;
    default: // s% for s = 1..10
      return { conditions: { all: [field('level', 'greaterThanInclusive', 101 - (1 + (i % 10)))] } } as RuleDocument;
  }
}

/** Peak RSS of this process while `work` runs, sampled every 25 ms. */
export async function measured<T>(work: () => Promise<T>): Promise<{ value: T; ms: number; peakRssMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
  const started = performance.now();
  try {
    const value = await work();
    return { value, ms: performance.now() - started, peakRssMb: Math.max(peak, process.memoryUsage().rss) / 1048576 };
  } finally {
    clearInterval(timer);
  }
}

/** A full sync as one worker runs it: the run's partitions in turn, then the groups' states and counts. */
export async function fullSync(runId: string): Promise<FullSyncResult> {
  const run = await prepareRun(runId);
  const results: PartitionResult[] = [];
  for (let i = 0; i < partitionCount(run); i++) results.push(await syncPartition(run, i, { jobId: `${runId}:p${i}`, actor: 'bench', valve: VALVE }));
  return finishRun(run, results, VALVE);
}

async function floor(db: Db, memberships: number): Promise<{ readMs: number; insertMs: number }> {
  let started = performance.now();
  let users = 0;
  for await (const _doc of usersCollection().find({})) users++;
  const readMs = performance.now() - started;
  const scratch = db.collection<{ _id: string }>('floor_memberships');
  await scratch.drop().catch(() => undefined);
  started = performance.now();
  const at = new Date();
  for (let i = 0; i < memberships; i += 1000) {
    const docs = [];
    for (let j = i; j < Math.min(memberships, i + 1000); j++) {
      docs.push({ _id: `grp_${String(j % GROUPS).padStart(16, '0')}:u${String(j).padStart(7, '0')}`, group: `g${j % GROUPS}`, externalId: `u${j}`, source: 'rule', addedAt: at, ruleVersion: 1, run: 'floor' });
    }
    await scratch.insertMany(docs, { ordered: false });
  }
  const insertMs = performance.now() - started;
  await scratch.drop();
  if (users === 0) throw new Error('floor read no users');
  return { readMs, insertMs };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function benchSize(embedded: EmbeddedDb, users: number, latency: boolean, out: BenchResult[]): Promise<void> {
  const label = `membership ${users.toLocaleString('en-US')} users`;
  const config = loadConfig({ MONGODB_URI: embedded.uri, MONGODB_DB: `bench_membership_${users}`, PORT: '0', LOG_LEVEL: 'silent', ROLE: 'api' });
  const service: Service = await start(config, createLogger('silent'));
  const db = service.database.db;
  try {
    const now = new Date();
    const rand = rng(users);
    for (let i = 0; i < users; i += 2000) {
      const docs = [];
      for (let j = i; j < Math.min(users, i + 2000); j++) docs.push(userDoc(j, rand, now));
      await usersCollection().insertMany(docs, { ordered: false });
    }
    const { key } = await createApiKey('bench', 'admin');
    const base = `http://127.0.0.1:${service.port}/api/v1`;
    const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    for (const [k, body] of [
      ['department', { label: 'Department', type: 'select', options: DEPARTMENTS }],
      ['region', { label: 'Region', type: 'text' }],
      ['level', { label: 'Level', type: 'number' }],
    ] as const) {
      const res = await fetch(`${base}/fields/${k}`, { method: 'PUT', headers, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`field ${k}: ${res.status} ${await res.text()}`);
    }
    for (const c of COURSES) await fetch(`${base}/courses/${c}`, { method: 'PUT', headers, body: JSON.stringify({ title: c }) });
    // Groups are created paused (ROLE=api runs no job either), then resumed in place: the full sync does all the work.
    for (let i = 0; i < GROUPS; i++) {
      const res = await fetch(`${base}/groups`, { method: 'POST', headers, body: JSON.stringify({ name: `Group ${i}`, type: 'automatic', paused: true, rule: ruleFor(i) }) });
      if (res.status !== 201) throw new Error(`group ${i}: ${res.status} ${await res.text()}`);
    }
    await GroupModel.collection.updateMany({}, { $set: { paused: false } });

    const first = await measured(() => fullSync('bench-first'));
    const memberships = await db.collection('memberships').estimatedDocumentCount();
    if (first.value.added !== memberships) throw new Error(`first sync added ${first.value.added}, ${memberships} stored`);
    const noop = await measured(() => fullSync('bench-noop'));
    if (noop.value.added + noop.value.removed !== 0) throw new Error(`no-op sync changed ${noop.value.added}+${noop.value.removed}`);

    // 1% of users change department and level behind the API: drift only a sync repairs.
    const changed = Math.max(1, Math.round(users / 100));
    const pick = rng(users + 1);
    for (let n = 0; n < changed; n++) {
      const id = `u${String(Math.floor(pick() * users)).padStart(7, '0')}`;
      await usersCollection().updateOne({ _id: id }, { $set: { 'fields.department': DEPARTMENTS[Math.floor(pick() * 10)]!, 'fields.level': 1 + Math.floor(pick() * 100) } });
    }
    const onePct = await measured(() => fullSync('bench-1pct'));
    const base_ = await floor(db, memberships);
    const floorMs = base_.readMs + base_.insertMs;

    out.push(
      { name: `${label}: memberships`, value: memberships, unit: 'documents' },
      { name: `${label}: first full sync`, value: Math.round(first.ms), unit: 'ms' },
      { name: `${label}: first full sync peak RSS`, value: Math.round(first.peakRssMb), unit: 'MB' },
      { name: `${label}: no-op full sync`, value: Math.round(noop.ms), unit: 'ms' },
      { name: `${label}: no-op full sync peak RSS`, value: Math.round(noop.peakRssMb), unit: 'MB' },
      { name: `${label}: full sync after 1% changed`, value: Math.round(onePct.ms), unit: 'ms' },
      { name: `${label}: full sync after 1% changed, changes`, value: onePct.value.added + onePct.value.removed, unit: 'memberships' },
      { name: `${label}: full sync after 1% changed peak RSS`, value: Math.round(onePct.peakRssMb), unit: 'MB' },
      { name: `${label}: floor (stream users)`, value: Math.round(base_.readMs), unit: 'ms' },
      { name: `${label}: floor (insertMany memberships)`, value: Math.round(base_.insertMs), unit: 'ms' },
      { name: `${label}: first full sync / floor`, value: first.ms / floorMs, unit: '×' },
      { name: `${label}: no-op full sync / floor read`, value: noop.ms / base_.readMs, unit: '×' },
      { name: `${label}: 1% full sync / floor read`, value: onePct.ms / base_.readMs, unit: '×' },
    );

    if (latency) {
      // Single-user writes through HTTP: each answers after membership has followed it.
      const compiled = (await GroupModel.find({}).lean<Array<{ _id: string; rule: RuleDocument }>>()).map((g) => ({ id: g._id, rule: compileRule(g.rule) }));
      const times: number[] = [];
      const w = rng(users + 2);
      let moved = 0;
      for (let n = 0; n < WRITES; n++) {
        const id = `u${String(Math.floor(w() * users)).padStart(7, '0')}`;
        const body = JSON.stringify({ fields: { level: 1 + Math.floor(w() * 100), department: DEPARTMENTS[Math.floor(w() * 10)] } });
        const check = n < 20;
        const before = check ? toUserFacts((await usersCollection().findOne({ _id: id }))!) : undefined;
        const started = performance.now();
        const res = await fetch(`${base}/users/${id}`, { method: 'PATCH', headers, body });
        await res.text();
        times.push(performance.now() - started);
        if (!res.ok) throw new Error(`PATCH ${id}: ${res.status}`);
        // Visible: every group's membership of this user is what its rule says (checked outside the timing).
        if (before) {
          const facts = toUserFacts((await usersCollection().findOne({ _id: id }))!);
          for (const g of compiled) {
            const member = (await db.collection('memberships').findOne({ _id: `${g.id}:${id}` as never })) !== null;
            const should = g.rule.predicate(facts, new Date());
            if (member !== should) throw new Error(`membership of ${id} in ${g.id} not visible after the write answered`);
            if (should !== g.rule.predicate(before, new Date())) moved++;
          }
        }
      }
      times.sort((a, b) => a - b);

      // What reads one group costs (each reads the whole memberships or history collection on FerretDB).
      const groupId = compiled[1]!.id;
      const timed = async (what: string, init: RequestInit & { path: string }) => {
        const started = performance.now();
        const res = await fetch(`${base}${init.path}`, { ...init, headers });
        await res.text();
        if (!res.ok) throw new Error(`${what}: ${res.status}`);
        return performance.now() - started;
      };
      // A group's member count: GET /groups/{id} carries it (from the stored counts, never a count of memberships).
      const countTimes: number[] = [];
      for (let n = 0; n < 20; n++) countTimes.push(await timed('group', { path: `/groups/${groupId}` }));
      countTimes.sort((a, b) => a - b);
      // Pages: the median of 11 reads each, so that one slow read on a busy machine does not stand for the page.
      const median = async (what: string, p: string) => {
        const ms: number[] = [];
        for (let n = 0; n < 11; n++) ms.push(await timed(what, { path: p }));
        return ms.sort((a, b) => a - b)[5]!;
      };
      const membersMs = await median('members', `/groups/${groupId}/members?limit=50`);
      const historyMs = await median('history', `/groups/${groupId}/history?limit=50`);
      const previewMs = await timed('preview', { path: `/groups/${groupId}/preview`, method: 'POST', body: JSON.stringify({ rule: ruleFor(6) }) });
      const groupSync = await measured(() =>
        syncGroup(groupId, { jobId: 'bench-group-sync', at: new Date(), actor: 'bench', confirmRemovals: true, valve: VALVE }),
      );

      // A group HR changes filled: its members arrive by HR batches that move each user's other groups too, so that
      // its history entries lie among every other group's (a group a sync filled has them side by side, at one instant).
      const hrMembers = Math.min(10_000, Math.floor(users / 5));
      const created = await fetch(`${base}/groups`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'Filled by HR', type: 'automatic', rule: { conditions: { all: [{ fact: 'field', params: { key: 'region' }, operator: 'equal', value: 'hr-cohort' }] } } }),
      });
      if (created.status !== 201) throw new Error(`HR group: ${created.status} ${await created.text()}`);
      const hrGroup = ((await created.json()) as { id: string }).id;
      const hrRand = rng(users + 3);
      const hrStarted = performance.now();
      for (let start = 0; start < hrMembers; start += HR_BATCH) {
        const ids = Array.from({ length: Math.min(HR_BATCH, hrMembers - start) }, (_, k) => `u${String((start + k) * 5).padStart(7, '0')}`);
        const docs = await usersCollection().find({ _id: { $in: ids } }).toArray();
        const records = docs.map((u) => ({
          externalId: u._id,
          email: u.email,
          firstName: u.firstName,
          lastName: u.lastName,
          type: u.type,
          status: u.status,
          fields: { department: DEPARTMENTS[Math.floor(hrRand() * 10)], region: 'hr-cohort', level: 1 + Math.floor(hrRand() * 100) },
        }));
        const res = await fetch(`${base}/users/batch`, { method: 'POST', headers, body: JSON.stringify({ users: records }) });
        const answer = (await res.json()) as { updated: number; failed: number };
        if (!res.ok || answer.failed) throw new Error(`HR batch: ${res.status} ${JSON.stringify(answer).slice(0, 300)}`);
      }
      const hrFillMs = performance.now() - hrStarted;
      const hrCount = await db.collection('memberships').countDocuments({ group: hrGroup });
      if (hrCount !== hrMembers) throw new Error(`HR group has ${hrCount} members, not ${hrMembers}`);
      const hrFirstMs = await median('HR history', `/groups/${hrGroup}/history?limit=50`);
      const firstPage = (await (await fetch(`${base}/groups/${hrGroup}/history?limit=50`, { headers })).json()) as { nextCursor: string };
      const hrNextMs = await median('HR history, next page', `/groups/${hrGroup}/history?limit=50&cursor=${encodeURIComponent(firstPage.nextCursor)}`);
      out.push(
        { name: `${label}: single-user write → membership visible p50`, value: percentile(times, 50), unit: 'ms' },
        { name: `${label}: single-user write → membership visible p95`, value: percentile(times, 95), unit: 'ms' },
        { name: `${label}: single-user writes measured`, value: WRITES, unit: 'writes' },
        { name: `${label}: GET one group with its member count p50`, value: Math.round(percentile(countTimes, 50)), unit: 'ms' },
        { name: `${label}: GET one group with its member count p95`, value: Math.round(percentile(countTimes, 95)), unit: 'ms' },
        { name: `${label}: GET one group's members (first page) p50`, value: Math.round(membersMs), unit: 'ms' },
        { name: `${label}: GET one group's history (first page) p50`, value: Math.round(historyMs), unit: 'ms' },
        { name: `${label}: preview of a proposed rule (first ever: builds the snapshot)`, value: Math.round(previewMs), unit: 'ms' },
        { name: `${label}: sync of one group (rule unchanged)`, value: Math.round(groupSync.ms), unit: 'ms' },
        { name: `${label}: memberships moved by the first 20 writes (each checked visible)`, value: moved, unit: 'memberships' },
        { name: `${label}: group filled by HR batches, members`, value: hrMembers, unit: 'members' },
        { name: `${label}: group filled by HR batches, time to fill`, value: Math.round(hrFillMs), unit: 'ms' },
        { name: `${label}: GET the history (first page) of the group HR batches filled p50`, value: Math.round(hrFirstMs), unit: 'ms' },
        { name: `${label}: GET the history (second page) of the group HR batches filled p50`, value: Math.round(hrNextMs), unit: 'ms' },
      );
    }
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await service.stop();
  }
}

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-bench-membership-'));
  const embedded = await startEmbeddedDb({ dataDir: dir, port: await freePort() });
  const out: BenchResult[] = [];
  try {
    const largest = Math.max(...SIZES);
    for (const users of SIZES) {
      const started = Date.now();
      await benchSize(embedded, users, users === largest, out);
      console.log(`  (${users} users: ${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
  } finally {
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

await runWhenMain(import.meta.url, run);
