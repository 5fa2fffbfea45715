// Directory benchmark: HR batch feeds on the embedded database (FerretDB v1 over PostgreSQL), through HTTP and the real
// service. A batch of 10,000 new users with additional fields; the same batch again (all unchanged: one read,
// no write); then the batch with one user in ten changed.
//
// `npm run bench` runs it with the others; `node --import tsx bench/directory.bench.ts` runs it alone.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/platform/logger.js';
import { start } from '../src/lifecycle.js';
import { startEmbeddedDb } from '../src/platform/db/embedded-db.js';
import { createApiKey } from '../src/keys/api-keys.service.js';
import { freePort } from '../test/helpers/ports.js';
import { runWhenMain, type BenchResult } from './print.js';

/** 10,000 (the batch limit); BENCH_DIRECTORY_USERS makes a quicker run. */
const USERS = Number(process.env.BENCH_DIRECTORY_USERS ?? 10_000);
const FIELDS: Array<[string, Record<string, unknown>]> = [
  ['department', { label: 'Department', type: 'select', options: ['Sales', 'Operations', 'Engineering', 'Finance', 'People'] }],
  ['jobTitle', { label: 'Job title', type: 'text' }],
  ['hireDate', { label: 'Hire date', type: 'date' }],
  ['employeeNumber', { label: 'Employee number', type: 'number' }],
  ['isManager', { label: 'People manager', type: 'boolean' }],
];
const DEPARTMENTS = ['Sales', 'Operations', 'Engineering', 'Finance', 'People'];

function users(): Array<Record<string, unknown>> {
  return Array.from({ length: USERS }, (_, i) => ({
    externalId: `B${String(i).padStart(6, '0')}`,
    email: `bench.user${i}@example.com`,
    firstName: `First${i}`,
    lastName: `Last${i}`,
    type: i % 7 === 0 ? 'staff' : 'learner',
    status: 'active',
    branch: ['north', 'south', 'east', 'west'][i % 4],
    fields: {
      department: DEPARTMENTS[i % DEPARTMENTS.length],
      jobTitle: `Title ${i % 40}`,
      hireDate: `20${10 + (i % 15)}-0${1 + (i % 9)}-1${i % 10}`,
      employeeNumber: 40_000 + i,
      isManager: i % 9 === 0,
    },
  }));
}

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-bench-'));
  const embedded = await startEmbeddedDb({ dataDir: dir, port: await freePort() });
  const config = loadConfig({ MONGODB_URI: embedded.uri, MONGODB_DB: 'bench_directory', PORT: '0', LOG_LEVEL: 'silent' });
  const service = await start(config, createLogger('silent'));
  try {
    const { key } = await createApiKey('bench', 'hr-feed');
    const base = `http://127.0.0.1:${service.port}/api/v1`;
    const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    for (const [k, body] of FIELDS) {
      const res = await fetch(`${base}/fields/${k}`, { method: 'PUT', headers, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`defining field ${k}: ${res.status}`);
    }

    const post = async (records: unknown[]) => {
      const body = JSON.stringify({ users: records });
      const started = performance.now();
      const res = await fetch(`${base}/users/batch`, { method: 'POST', headers, body });
      const answer = (await res.json()) as Record<string, number>;
      const ms = performance.now() - started;
      if (!res.ok || answer.failed) throw new Error(`batch failed: ${res.status} ${JSON.stringify(answer).slice(0, 300)}`);
      return { ms, answer };
    };

    const batch = users();
    const created = await post(batch);
    if (created.answer.created !== USERS) throw new Error(`expected ${USERS} created, got ${JSON.stringify(created.answer)}`);
    const again = await post(batch);
    if (again.answer.unchanged !== USERS) throw new Error(`expected ${USERS} unchanged, got ${JSON.stringify(again.answer)}`);
    const tenth = batch.map((u, i) => (i % 10 === 0 ? { ...u, status: 'inactive', fields: { ...(u.fields as object), jobTitle: 'Promoted' } } : u));
    const changed = await post(tenth);
    if (changed.answer.updated !== USERS / 10) throw new Error(`expected ${USERS / 10} updated, got ${JSON.stringify(changed.answer)}`);

    const rate = (ms: number) => Math.round((USERS / ms) * 1000);
    const ms = (v: number) => Math.round(v);
    return [
      { name: 'directory: batch of 10,000 new users', value: rate(created.ms), unit: 'records/s' },
      { name: 'directory: batch of 10,000 new users', value: ms(created.ms), unit: 'ms' },
      { name: 'directory: same batch again (all unchanged)', value: rate(again.ms), unit: 'records/s' },
      { name: 'directory: same batch again (all unchanged)', value: ms(again.ms), unit: 'ms' },
      { name: 'directory: batch of 10,000, one in ten changed', value: rate(changed.ms), unit: 'records/s' },
      { name: 'directory: batch of 10,000, one in ten changed', value: ms(changed.ms), unit: 'ms' },
    ];
  } finally {
    await service.stop();
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await runWhenMain(import.meta.url, run);
