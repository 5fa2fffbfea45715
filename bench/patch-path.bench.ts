// One user's PATCH, the interactive write the load bench's PATCH p99 measures (docs/performance.md, "Load"): what a
// PATCH that moves a user from one automatic group to another sends to the database before it answers (the
// driver's command monitoring, in a service in this process), then how many such PATCHes a second a service process
// answers, and how fast, with PATCH_CLIENTS clients sending them one after another for PATCH_SECONDS (a service in
// a process of its own, as the load bench runs it). Ends by checking that each group's members and stored count
// equal the users whose department names it. Figures go to bench/results-patch-path.json when run alone.
//
// `npm run bench patch-path` runs it; `node --import tsx bench/patch-path.bench.ts` too.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import type { CommandStartedEvent } from 'mongodb';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/platform/logger.js';
import { start } from '../src/lifecycle.js';
import { startEmbeddedDb } from '../src/platform/db/embedded-db.js';
import { createApiKey } from '../src/keys/api-keys.service.js';
import { spawnService } from '../test/helpers/child-service.js';
import { freePort } from '../test/helpers/ports.js';
import { runWhenMain, type BenchResult } from './print.js';

const USERS = 2000;
const SECONDS = Number(process.env.PATCH_SECONDS ?? 20);
const CLIENTS = Number(process.env.PATCH_CLIENTS ?? 40);
const DEPARTMENTS = ['Sales', 'Ops'] as const;
const KEY = 'agk_patch_bench_bootstrap_key_000000001';

type Call = (method: string, p: string, body?: unknown) => Promise<{ status: number; json: Record<string, unknown> }>;

function caller(port: number, key: string): Call {
  return async (method, p, body) => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1${p}`, {
      method,
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
}

async function must(call: Call, method: string, p: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await call(method, p, body);
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(res.json).slice(0, 300)}`);
  return res.json;
}

/** A department field, a group per department, and USERS users split between them. Returns the groups' ids. */
async function setUp(call: Call): Promise<Record<string, string>> {
  await must(call, 'PUT', '/fields/department', { label: 'Department', type: 'select', options: DEPARTMENTS });
  const groups: Record<string, string> = {};
  for (const d of DEPARTMENTS) {
    const rule = { conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: d }] } };
    groups[d] = String((await must(call, 'POST', '/groups', { name: d, type: 'automatic', rule })).id);
  }
  const users = Array.from({ length: USERS }, (_, i) => ({
    externalId: `p${i}`, email: `p${i}@example.com`, firstName: 'Ana', lastName: `N${i}`, type: 'learner', status: 'active', fields: { department: DEPARTMENTS[i % 2] },
  }));
  await must(call, 'POST', '/users/batch', { users });
  // The groups' first syncs: their counts settle before anything is measured.
  for (let i = 0; i < 300; i++) {
    const states = await Promise.all(Object.values(groups).map(async (g) => ((await must(call, 'GET', `/groups/${g}`)).sync as { state: string }).state));
    if (states.every((s) => s === 'idle')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return groups;
}

/** The commands one PATCH moving a user between the groups sends before it answers, per command and collection. */
async function commandsOfOnePatch(): Promise<BenchResult[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-bench-patch-'));
  await chmod(dir, 0o711);
  const embedded = await startEmbeddedDb({ dataDir: dir, port: await freePort() });
  const config = loadConfig({ MONGODB_URI: `${embedded.uri}&monitorCommands=true`, MONGODB_DB: 'bench_patch_path', PORT: '0', LOG_LEVEL: 'silent', ROLE: 'api' });
  const service = await start(config, createLogger('silent'));
  try {
    const { key } = await createApiKey('bench', 'admin');
    const call = caller(service.port, key);
    await setUp(call);
    const sent: string[] = [];
    const client = mongoose.connection.getClient();
    const listen = (e: CommandStartedEvent) => {
      const coll = e.command[e.commandName] as unknown;
      sent.push(`${e.commandName} ${typeof coll === 'string' ? coll : ''}`.trim());
    };
    client.on('commandStarted', listen);
    const rows: BenchResult[] = [];
    // Twice: the second move finds the leases, slot markers and caches the first one warmed.
    for (const [round, to] of [[1, 'Ops'], [2, 'Sales']] as const) {
      await new Promise((r) => setTimeout(r, 300)); // leases of the setting up given back
      sent.length = 0;
      await must(call, 'PATCH', '/users/p0', { fields: { department: to } });
      const counted = new Map<string, number>();
      for (const c of sent) counted.set(c, (counted.get(c) ?? 0) + 1);
      rows.push({ name: `patch path: commands before a moving PATCH answers (move ${round})`, value: sent.length, unit: 'commands' });
      if (round === 2) for (const [c, n] of [...counted].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) rows.push({ name: `patch path:   ${c}`, value: n, unit: 'commands' });
    }
    client.off('commandStarted', listen);
    return rows;
  } finally {
    await service.stop();
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** CLIENTS clients PATCHing departments for SECONDS against a service process; then membership checked. */
async function underLoad(): Promise<BenchResult[]> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-bench-patch-load-'));
  await chmod(dataDir, 0o711);
  const svc = await spawnService({ DATA_DIR: dataDir, EMBEDDED_DB_PORT: String(await freePort()), BOOTSTRAP_ADMIN_KEY: KEY, LOG_LEVEL: 'info', REMOVAL_SAFETY_SHARE: '1' }, 300_000);
  try {
    const call = caller(svc.port, KEY);
    const groups = await setUp(call);
    const times: number[] = [];
    const ends = Date.now() + SECONDS * 1000;
    let next = 0;
    const loadAtStart = os.loadavg()[0]!;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (Date.now() < ends) {
          const user = `p${(next++ * 7) % USERS}`;
          const started = performance.now();
          await must(call, 'PATCH', `/users/${user}`, { fields: { department: DEPARTMENTS[Math.floor(Math.random() * 2)] } });
          times.push(performance.now() - started);
        }
      }),
    );
    times.sort((a, b) => a - b);
    const at = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))]!);
    // Every group's members and stored count against the users' departments, read back.
    let off = 0;
    for (const [department, id] of Object.entries(groups)) {
      const group = await must(call, 'GET', `/groups/${id}`);
      let members = 0;
      let cursor: string | undefined;
      do {
        const page = await must(call, 'GET', `/groups/${id}/members?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        members += (page.items as unknown[]).length;
        cursor = page.nextCursor as string | undefined;
      } while (cursor);
      let expected = 0;
      cursor = undefined;
      do {
        const page = await must(call, 'GET', `/users?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expected += (page.items as Array<{ fields?: { department?: string } }>).filter((u) => u.fields?.department === department).length;
        cursor = page.nextCursor as string | undefined;
      } while (cursor);
      off += Math.abs(members - expected) + Math.abs(Number(group.memberCount) - expected);
    }
    return [
      { name: 'patch path: moving PATCHes answered', value: times.length, unit: `in ${SECONDS} s, ${CLIENTS} clients` },
      { name: 'patch path: PATCHes a second', value: Math.round((times.length / SECONDS) * 10) / 10, unit: 'per second' },
      { name: 'patch path: PATCH p50', value: at(0.5), unit: 'ms' },
      { name: 'patch path: PATCH p95', value: at(0.95), unit: 'ms' },
      { name: 'patch path: PATCH p99', value: at(0.99), unit: 'ms' },
      { name: 'patch path: load average (1 min) at the start and end', value: Math.round(os.loadavg()[0]! * 100) / 100, unit: `at the end; ${loadAtStart.toFixed(2)} at the start (2 cores)` },
      { name: 'patch path: differences from the users (members, stored counts)', value: off, unit: 'in 2 groups' },
    ];
  } finally {
    svc.child.kill('SIGTERM');
    await svc.exited;
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchResult[]> {
  return [...(await commandsOfOnePatch()), ...(await underLoad())];
}

await runWhenMain(import.meta.url, run, { keepIn: 'results-patch-path.json' });
