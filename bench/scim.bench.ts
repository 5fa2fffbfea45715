// SCIM benchmark on the embedded database (FerretDB v1 over PostgreSQL), through HTTP and the real service, with an
// automatic group whose rule reads an enterprise attribute, so every write has a membership to settle before it
// answers: 10,000 users created one by one with POST /scim/v2/Users at 25 requests in flight (what a gallery app
// must sustain for Entra: 25 requests/s), 10,000 through one SCIM Bulk request, and, for comparison, 10,000
// through POST /api/v1/users/batch. Each phase checks that the group holds exactly the users it should.
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

    // 1. POST /Users, 25 in flight; a user's membership is settled when its answer comes.
    const latencies: number[] = [];
    let next = 0;
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
    const postMs = performance.now() - started;
    await expectMembers(salesOf(USERS), 'POST /Users');
    latencies.sort((a, b) => a - b);

    // 2. One Bulk request of USERS creations.
    const bulkBody = JSON.stringify({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: Array.from({ length: USERS }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `b${i}`, data: scimUser('K', i) })),
    });
    const b0 = performance.now();
    const bulk = await fetch(`${root}/scim/v2/Bulk`, { method: 'POST', headers: scimHeaders, body: bulkBody });
    const bulkAnswer = (await bulk.json()) as { Operations: Array<{ status: string }> };
    const bulkMs = performance.now() - b0;
    const bulkCreated = bulkAnswer.Operations.filter((o) => o.status === '201').length;
    if (bulkCreated !== USERS) throw new Error(`Bulk created ${bulkCreated} of ${USERS}`);
    await expectMembers(2 * salesOf(USERS), 'Bulk');

    // 3. The same number of users through the REST batch.
    const batch = Array.from({ length: USERS }, (_, i) => ({
      externalId: `R${String(i).padStart(6, '0')}`,
      email: `r.user${i}@example.com`,
      firstName: `First${i}`,
      lastName: `Last${i}`,
      type: 'learner',
      status: 'active',
      fields: { department: DEPARTMENTS[i % DEPARTMENTS.length], employeeNumber: 60_000 + i },
    }));
    const r0 = performance.now();
    const rest = await fetch(`${root}/api/v1/users/batch`, { method: 'POST', headers: json, body: JSON.stringify({ users: batch }) });
    const restAnswer = (await rest.json()) as { created: number };
    const batchMs = performance.now() - r0;
    if (restAnswer.created !== USERS) throw new Error(`batch created ${restAnswer.created}`);
    await expectMembers(3 * salesOf(USERS), 'POST /users/batch');

    const perSecond = (ms: number) => Math.round((USERS / ms) * 1000 * 10) / 10;
    return [
      { name: `scim: POST /Users, ${USERS} users, ${IN_FLIGHT} in flight`, value: perSecond(postMs), unit: 'requests/s' },
      { name: `scim: POST /Users, ${USERS} users, ${IN_FLIGHT} in flight`, value: Math.round(percentile(latencies, 50)), unit: 'ms p50' },
      { name: `scim: POST /Users, ${USERS} users, ${IN_FLIGHT} in flight`, value: Math.round(percentile(latencies, 95)), unit: 'ms p95' },
      { name: `scim: one Bulk of ${USERS} user creations`, value: perSecond(bulkMs), unit: 'users/s' },
      { name: `scim: one Bulk of ${USERS} user creations`, value: Math.round(bulkMs), unit: 'ms' },
      { name: `rest: POST /users/batch of ${USERS} users (comparison)`, value: perSecond(batchMs), unit: 'users/s' },
      { name: `rest: POST /users/batch of ${USERS} users (comparison)`, value: Math.round(batchMs), unit: 'ms' },
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
  await writeFile(out, JSON.stringify({ at: new Date().toISOString(), machine: `${os.cpus().length} cores`, results: rows }, null, 2) + '\n');
  console.log(`wrote ${out}`);
}
