// SCIM benchmark on the embedded database (FerretDB v1 over PostgreSQL), through HTTP and the real service, with an
// automatic group whose rule reads an enterprise attribute, so every write has a membership to settle before it
// answers: 10,000 users created one by one with POST /scim/v2/Users at 25 requests in flight (what a gallery app
// must sustain for Entra: 25 requests/s), then 10,000 through one SCIM Bulk request and, for comparison, 10,000
// through POST /api/v1/users/batch (each twice, see below). Each phase checks that the group holds exactly the users
// it should.
//
// `node --import tsx bench/scim.bench.ts` runs it alone and writes bench/results-scim.json; BENCH_SCIM_USERS makes a
// quicker run.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/platform/logger.js';
import { start } from '../src/lifecycle.js';
import { startEmbeddedDb } from '../src/platform/db/embedded-db.js';
import { createApiKey } from '../src/keys/api-keys.service.js';
import { freePort } from '../test/helpers/ports.js';
import { runWhenMain, type BenchResult } from './print.js';

const USERS = Number(process.env.BENCH_SCIM_USERS ?? 10_000);
const IN_FLIGHT = 25;
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const DEPARTMENTS = ['Sales', 'Operations', 'Engineering', 'Finance', 'People'];

function scimUser(prefix: string, i: number): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
    externalId: `${prefix}${String(i).padStart(6, '0')}`,
    userName: `${prefix.toLowerCase()}.user${i}@example.com`,
    name: { givenName: `First${i}`, familyName: `Last${i}` },
    active: true,
    [ENTERPRISE]: { department: DEPARTMENTS[i % DEPARTMENTS.length], employeeNumber: String(50_000 + i) },
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-bench-'));
  const embedded = await startEmbeddedDb({ dataDir: dir, port: await freePort() });
  const config = loadConfig({ MONGODB_URI: embedded.uri, MONGODB_DB: 'bench_scim', PORT: '0', LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0' });
  const service = await start(config, createLogger('silent'));
  try {
    const { key } = await createApiKey('bench', 'admin');
    const root = `http://127.0.0.1:${service.port}`;
    const json = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    const scimHeaders = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/scim+json' };
    for (const [k, body] of [['department', { label: 'Department', type: 'select', options: DEPARTMENTS }], ['employeeNumber', { label: 'Employee number', type: 'number' }]] as const) {
      const res = await fetch(`${root}/api/v1/fields/${k}`, { method: 'PUT', headers: json, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`defining field ${k}: ${res.status}`);
    }
    const rule = { conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Sales' }] } };
    const group = (await (await fetch(`${root}/api/v1/groups`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'Sales', type: 'automatic', rule }) })).json()) as { id: string };
    const memberCount = async () => ((await (await fetch(`${root}/api/v1/groups/${group.id}`, { headers: json })).json()) as { memberCount: number }).memberCount;
    const expectMembers = async (n: number, phase: string) => {
      const got = await memberCount();
      if (got !== n) throw new Error(`${phase}: the Sales group holds ${got} members, expected ${n}`);
    };
    const salesOf = (n: number) => Math.ceil(n / DEPARTMENTS.length);

    // 1. POST /Users, 25 in flight; a user's membership is settled when its answer comes. BENCH_SCIM_POSTS=0 skips
    // it (a quick comparison of Bulk and the batch), and then creates the same users by batch so the sizes match.
    const posts = Number(process.env.BENCH_SCIM_POSTS ?? USERS);
    const latencies: number[] = [];
    let next = USERS - posts;
    if (posts < USERS) {
      const seed = Array.from({ length: USERS - posts }, (_, i) => ({ externalId: `S${String(i).padStart(6, '0')}`, email: `s.user${i}@example.com`, firstName: 'F', lastName: 'L', type: 'learner', status: 'active', fields: { department: DEPARTMENTS[i % DEPARTMENTS.length], employeeNumber: 50_000 + i } }));
      const res = await fetch(`${root}/api/v1/users/batch`, { method: 'POST', headers: json, body: JSON.stringify({ users: seed }) });
      if (!res.ok) throw new Error(`seeding: ${res.status}`);
    }
    const started = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < USERS) {
          const i = next++;
          const t0 = performance.now();
          const res = await fetch(`${root}/scim/v2/Users`, { method: 'POST', headers: scimHeaders, body: JSON.stringify(scimUser('S', i)) });
          await res.arrayBuffer();
          if (res.status !== 201) throw new Error(`POST /Users answered ${res.status}`);
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const postMs = Math.max(1, performance.now() - started);
    await expectMembers(salesOf(USERS), 'POST /Users');
    latencies.sort((a, b) => a - b);
    if (latencies.length === 0) latencies.push(0);

    // 2. USERS new users through one SCIM Bulk request, and USERS through POST /api/v1/users/batch, twice each in
    // the order batch, Bulk, Bulk, batch: each write is slower the more users are stored, and this order gives both
    // the same stored users on average.
    const bulkOf = (prefix: string) =>
      JSON.stringify({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations: Array.from({ length: USERS }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `b${i}`, data: scimUser(prefix, i) })),
      });
    const batchOf = (prefix: string) =>
      JSON.stringify({
        users: Array.from({ length: USERS }, (_, i) => ({
          externalId: `${prefix}${String(i).padStart(6, '0')}`,
          email: `${prefix.toLowerCase()}.user${i}@example.com`,
          firstName: `First${i}`,
          lastName: `Last${i}`,
          type: 'learner',
          status: 'active',
          fields: { department: DEPARTMENTS[i % DEPARTMENTS.length], employeeNumber: 60_000 + i },
        })),
      });
    let phases = 1;
    const viaBulk = async (prefix: string) => {
      const body = bulkOf(prefix);
      const t0 = performance.now();
      const res = await fetch(`${root}/scim/v2/Bulk`, { method: 'POST', headers: scimHeaders, body });
      const answer = (await res.json()) as { Operations: Array<{ status: string }> };
      const ms = performance.now() - t0;
      const created = answer.Operations.filter((o) => o.status === '201').length;
      if (created !== USERS) throw new Error(`Bulk created ${created} of ${USERS}`);
      await expectMembers(++phases * salesOf(USERS), `Bulk ${prefix}`);
      return ms;
    };
    const viaBatch = async (prefix: string) => {
      const body = batchOf(prefix);
      const t0 = performance.now();
      const res = await fetch(`${root}/api/v1/users/batch`, { method: 'POST', headers: json, body });
      const answer = (await res.json()) as { created: number };
      const ms = performance.now() - t0;
      if (answer.created !== USERS) throw new Error(`batch created ${answer.created}`);
      await expectMembers(++phases * salesOf(USERS), `batch ${prefix}`);
      return ms;
    };
    const batch1 = await viaBatch('RA');
    const bulk1 = await viaBulk('KA');
    const bulk2 = await viaBulk('KB');
    const batch2 = await viaBatch('RB');
    const bulkMs = (bulk1 + bulk2) / 2;
    const batchMs = (batch1 + batch2) / 2;

    const perSecond = (ms: number) => Math.round((USERS / ms) * 1000 * 10) / 10;
    return [
      { name: `scim: POST /Users, ${USERS} users, ${IN_FLIGHT} in flight`, value: perSecond(postMs), unit: 'requests/s' },
      { name: `scim: POST /Users, ${USERS} users, ${IN_FLIGHT} in flight`, value: Math.round(percentile(latencies, 50)), unit: 'ms p50' },
      { name: `scim: POST /Users, ${USERS} users, ${IN_FLIGHT} in flight`, value: Math.round(percentile(latencies, 95)), unit: 'ms p95' },
      { name: `scim: one Bulk of ${USERS} user creations`, value: perSecond(bulkMs), unit: 'users/s' },
      { name: `scim: one Bulk of ${USERS} user creations`, value: Math.round(bulkMs), unit: 'ms (mean of 2)' },
      { name: `rest: POST /users/batch of ${USERS} users (comparison)`, value: perSecond(batchMs), unit: 'users/s' },
      { name: `rest: POST /users/batch of ${USERS} users (comparison)`, value: Math.round(batchMs), unit: 'ms (mean of 2)' },
    ];
  } finally {
    await service.stop();
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const rows = await runWhenMain(import.meta.url, run);
if (rows) {
  const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results-scim.json');
  // The load average says how much else the machine ran meanwhile (these figures move with it).
  await writeFile(out, JSON.stringify({ at: new Date().toISOString(), machine: `${os.cpus().length} cores`, loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 10) / 10), results: rows }, null, 2) + '\n');
  console.log(`wrote ${out}`);
}
