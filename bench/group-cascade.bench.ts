// Groups of groups at 50,000 users on the embedded database: the membership bench's users and 100 automatic groups,
// plus a chain of three levels —
//   L1 "Dept0 seniors":       department Dept0 and level > 50                    (~5% of users)
//   L2 "Dept0 seniors North": memberOf L1 and region one of region0..region9     (about half of L1)
//   L3 "… not VIP":           memberOf L2 and not memberOf VIP (a manual group)  (L2 minus VIP)
// — then single-user HR writes (PATCH through HTTP) that move a user into or out of Dept0, so through all three
// levels, each answering after every level has followed. Beside them, the same writes for users the chain does not
// take (region10..19: L1 only), and hand edits of VIP (one level follows). The first 20 writes of each kind are
// checked: every level's stored membership is what the rules say, after the write answered.
//
// `npm run bench group-cascade` runs it; `node --import tsx bench/group-cascade.bench.ts` runs it alone and writes
// bench/results-group-cascade.json; CASCADE_BENCH_USERS and CASCADE_BENCH_WRITES choose a quicker run.
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
import { GroupModel } from '../src/groups/group.model.js';
import { freePort } from '../test/helpers/ports.js';
import { runWhenMain, type BenchResult } from './print.js';
import { COURSES, DEPARTMENTS, GROUPS, fullSync, measured, ruleFor, rng, userDoc } from './membership.bench.js';

const USERS = Number(process.env.CASCADE_BENCH_USERS ?? 50_000);
const WRITES = Number(process.env.CASCADE_BENCH_WRITES ?? 200);
const NORTH = Array.from({ length: 10 }, (_, i) => `region${i}`);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function run(): Promise<BenchResult[]> {
  const label = `group cascade ${USERS.toLocaleString('en-US')} users`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-bench-cascade-'));
  const embedded = await startEmbeddedDb({ dataDir: dir, port: await freePort() });
  const config = loadConfig({ MONGODB_URI: embedded.uri, MONGODB_DB: 'bench_cascade', PORT: '0', LOG_LEVEL: 'silent', ROLE: 'api' });
  const service: Service = await start(config, createLogger('silent'));
  const db = service.database.db;
  const out: BenchResult[] = [];
  try {
    const now = new Date();
    const rand = rng(USERS);
    const docs: UserDoc[] = [];
    for (let i = 0; i < USERS; i++) docs.push(userDoc(i, rand, now));
    for (let i = 0; i < USERS; i += 2000) await usersCollection().insertMany(docs.slice(i, i + 2000), { ordered: false });
    const { key } = await createApiKey('bench', 'admin');
    const base = `http://127.0.0.1:${service.port}/api/v1`;
    const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    const call = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(`${base}${p}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
      return text ? (JSON.parse(text) as Record<string, unknown>) : {};
    };
    await call('PUT', '/fields/department', { label: 'Department', type: 'select', options: DEPARTMENTS });
    await call('PUT', '/fields/region', { label: 'Region', type: 'text' });
    await call('PUT', '/fields/level', { label: 'Level', type: 'number' });
    for (const c of COURSES) await call('PUT', `/courses/${c}`, { title: c });
    // Created paused (ROLE=api runs no job), resumed in place: one full sync, in dependency order, fills them all.
    for (let i = 0; i < GROUPS; i++) await call('POST', '/groups', { name: `Group ${i}`, type: 'automatic', paused: true, rule: ruleFor(i) });
    const field = (k: string, operator: string, value: unknown) => ({ fact: 'field', params: { key: k }, operator, value });
    const memberOf = (group: string, value = true) => ({ fact: 'memberOf', params: { group }, operator: 'equal', value });
    const vip = (await call('POST', '/groups', { name: 'VIP', type: 'manual' })).id as string;
    const l1 = (await call('POST', '/groups', { name: 'Dept0 seniors', type: 'automatic', paused: true, rule: { conditions: { all: [field('department', 'equal', 'Dept0'), field('level', 'greaterThan', 50)] } } })).id as string;
    const l2 = (await call('POST', '/groups', { name: 'Dept0 seniors North', type: 'automatic', paused: true, rule: { conditions: { all: [memberOf(l1), field('region', 'in', NORTH)] } } })).id as string;
    const l3 = (await call('POST', '/groups', { name: 'Dept0 seniors North, not VIP', type: 'automatic', paused: true, rule: { conditions: { all: [memberOf(l2), memberOf(vip, false)] } } })).id as string;
    // A few VIPs among the North seniors of every department.
    const seniorsNorth = docs.filter((d) => Number(d.fields.level) > 50 && NORTH.includes(String(d.fields.region)));
    for (const d of seniorsNorth.slice(0, 50)) await call('PUT', `/groups/${vip}/members/${d._id}`);
    await GroupModel.collection.updateMany({}, { $set: { paused: false } });
    const sync = await measured(() => fullSync('bench-cascade-first'));

    const stored = async (group: string, user: string) => (await db.collection('memberships').findOne({ _id: `${group}:${user}` as never })) !== null;
    const expectLevels = async (user: string, want: [boolean, boolean, boolean]) => {
      const got = [await stored(l1, user), await stored(l2, user), await stored(l3, user)];
      if (got.join() !== want.join()) throw new Error(`levels of ${user} after the write answered: ${got.join()} (wanted ${want.join()})`);
    };
    const isVip = new Set(seniorsNorth.slice(0, 50).map((d) => d._id));
    const chain = seniorsNorth.filter((d) => !isVip.has(d._id));
    const l1Only = docs.filter((d) => Number(d.fields.level) > 50 && !NORTH.includes(String(d.fields.region)));
    const chainCount = await db.collection('memberships').countDocuments({ group: l3 });

    /** PATCHes users into Dept0 and out again, each write timed; the first 20 of each kind checked at every level. */
    const hrWrites = async (pool: UserDoc[], levels: (inDept0: boolean) => [boolean, boolean, boolean]) => {
      const times: number[] = [];
      const w = rng(pool.length + 7);
      for (let n = 0; n < WRITES; n++) {
        const user = pool[Math.floor(w() * pool.length)]!;
        const into = n % 2 === 0;
        const started = performance.now();
        await call('PATCH', `/users/${user._id}`, { fields: { department: into ? 'Dept0' : 'Dept1' } });
        times.push(performance.now() - started);
        if (n < 20) await expectLevels(user._id, levels(into));
      }
      return times.sort((a, b) => a - b);
    };
    const through3 = await hrWrites(chain, (into) => [into, into, into]);
    const l1OnlyTimes = await hrWrites(l1Only, (into) => [into, false, false]);

    // Hand edits of VIP for users in the chain: L3 follows (they leave, then come back).
    const handTimes: number[] = [];
    const inChain = chain.slice(0, WRITES / 2);
    for (const [n, d] of inChain.entries()) {
      await call('PATCH', `/users/${d._id}`, { fields: { department: 'Dept0' } }); // untimed: into the chain first
      for (const method of ['PUT', 'DELETE']) {
        const started = performance.now();
        await call(method, `/groups/${vip}/members/${d._id}`);
        handTimes.push(performance.now() - started);
      }
      if (n < 10) await expectLevels(d._id, [true, true, true]);
    }
    handTimes.sort((a, b) => a - b);

    out.push(
      { name: `${label}: first full sync (${GROUPS} groups and the 3-level chain)`, value: Math.round(sync.ms), unit: 'ms' },
      { name: `${label}: members of level 3 after it`, value: chainCount, unit: 'users' },
      { name: `${label}: HR write moving a user through 3 levels p50`, value: Math.round(percentile(through3, 50)), unit: 'ms' },
      { name: `${label}: HR write moving a user through 3 levels p95`, value: Math.round(percentile(through3, 95)), unit: 'ms' },
      { name: `${label}: HR write moving a user into or out of level 1 only p50`, value: Math.round(percentile(l1OnlyTimes, 50)), unit: 'ms' },
      { name: `${label}: HR write moving a user into or out of level 1 only p95`, value: Math.round(percentile(l1OnlyTimes, 95)), unit: 'ms' },
      { name: `${label}: hand edit of VIP, level 3 following p50`, value: Math.round(percentile(handTimes, 50)), unit: 'ms' },
      { name: `${label}: hand edit of VIP, level 3 following p95`, value: Math.round(percentile(handTimes, 95)), unit: 'ms' },
      { name: `${label}: writes measured per kind`, value: WRITES, unit: 'writes' },
    );
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await service.stop();
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

await runWhenMain(import.meta.url, run, { keepIn: 'results-group-cascade.json' });
