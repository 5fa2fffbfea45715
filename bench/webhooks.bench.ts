// Webhooks benchmark on the embedded database (FerretDB v1 over PostgreSQL): a new rule adds every one of N users to
// a group, and a subscription delivers the N `membership.added` events to a receiver on this machine.
//
// One service process (ROLE=all: it runs the group's sync job and the delivery loop, as a single-process deployment
// does) and the receiver, an HTTP server in this process answering 204. Figures: the sync itself, the time from the
// group's creation to the last event received (drain), events delivered per second while draining, and the latency
// of an HR write (PATCH of one user, through HTTP, one every 100 ms) before the rule, while its sync runs (deliveries
// drain meanwhile), and after the sync while deliveries go on draining: what delivery costs the rest of the service.
// The same sync runs first with no subscription (another group, same rule), to set the sync's own cost apart. `node --import tsx bench/webhooks.bench.ts` runs it alone and writes
// bench/results-webhooks.json; WEBHOOKS_BENCH_USERS chooses the size (default 50,000).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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
import { freePort } from '../test/helpers/ports.js';
import { runWhenMain, type BenchResult } from './print.js';

const USERS = Number(process.env.WEBHOOKS_BENCH_USERS ?? 50_000);
/** HR writes measured before the drain. */
const HR_WRITES = 100;

function userDoc(i: number, now: Date): UserDoc {
  const id = `w${String(i).padStart(7, '0')}`;
  return {
    _id: id,
    email: `${id}@example.com`,
    emailLower: `${id}@example.com`,
    firstName: `First${i}`,
    lastName: `Last${i}`,
    type: 'learner',
    status: 'active',
    fields: { site: 'north', level: 1 },
    enrollments: {},
    createdAt: now,
    updatedAt: now,
  } as UserDoc;
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-bench-'));
  const embedded = await startEmbeddedDb({ dataDir: dir, port: await freePort() });
  const config = loadConfig({ MONGODB_URI: embedded.uri, MONGODB_DB: 'bench_webhooks', PORT: '0', LOG_LEVEL: 'silent', WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
  const service: Service = await start(config, createLogger('silent'));
  const seen = new Set<string>();
  let firstAt = 0;
  let lastAt = 0;
  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      if (!seen.has(id)) {
        seen.add(id);
        if (!firstAt) firstAt = performance.now();
        lastAt = performance.now();
      }
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
  try {
    const now = new Date();
    for (let i = 0; i < USERS; i += 2000) {
      const docs = [];
      for (let j = i; j < Math.min(USERS, i + 2000); j++) docs.push(userDoc(j, now));
      await usersCollection().insertMany(docs, { ordered: false });
    }
    const { key } = await createApiKey('bench', 'admin');
    const base = `http://127.0.0.1:${service.port}/api/v1`;
    const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    const call = async (method: string, url: string, body?: unknown) => {
      const res = await fetch(`${base}${url}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
      return text ? (JSON.parse(text) as Record<string, unknown>) : {};
    };
    await call('PUT', '/fields/site', { label: 'Site', type: 'text' });
    await call('PUT', '/fields/level', { label: 'Level', type: 'number' });

    // A user's PATCH that changes no membership: what an HR feed does all day.
    let writes = 0;
    const hrWrite = async (): Promise<number> => {
      const id = `w${String((writes * 7919) % USERS).padStart(7, '0')}`;
      writes++;
      const started = performance.now();
      await call('PATCH', `/users/${id}`, { fields: { level: 1 + (writes % 50) } });
      return performance.now() - started;
    };
    const before: number[] = [];
    for (let n = 0; n < HR_WRITES; n++) before.push(await hrWrite());

    // The same sync with no subscription first: what the sync alone costs an HR write, to set the drain's cost apart.
    const rule = { conditions: { all: [{ fact: 'field', params: { key: 'site' }, operator: 'equal', value: 'north' }] } };
    const alone: number[] = [];
    const baseline = await call('POST', '/groups', { name: 'Everyone north, before webhooks', type: 'automatic', rule });
    const baselineStarted = performance.now();
    for (;;) {
      alone.push(await hrWrite());
      const job = await call('GET', `/jobs/${baseline.jobId as string}`);
      if (job.status === 'completed') break;
      if (job.status === 'failed') throw new Error(`sync failed: ${JSON.stringify(job.error)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const baselineMs = performance.now() - baselineStarted;
    alone.sort((a, b) => a - b);

    const port = (receiver.address() as AddressInfo).port;
    await call('POST', '/webhooks', { url: `http://127.0.0.1:${port}/hooks`, events: ['membership.added', 'membership.removed'] });
    const created = performance.now();
    const group = await call('POST', '/groups', { name: 'Everyone north', type: 'automatic', rule });
    let syncedAt = 0;
    let seenAtSync = 0;
    const jobDone = (async () => {
      for (;;) {
        const job = await call('GET', `/jobs/${group.jobId as string}`);
        if (job.status === 'completed') {
          seenAtSync = seen.size;
          return (syncedAt = performance.now());
        }
        if (job.status === 'failed') throw new Error(`sync failed: ${JSON.stringify(job.error)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    // A steady HR feed (one PATCH every 100 ms) for as long as the drain lasts: while the sync writes, and after.
    const duringSync: number[] = [];
    const afterSync: number[] = [];
    while (seen.size < USERS) {
      const ms = await hrWrite();
      (syncedAt ? afterSync : duringSync).push(ms);
      await new Promise((r) => setTimeout(r, 100));
      if (performance.now() - created > 30 * 60_000) throw new Error(`only ${seen.size} of ${USERS} events delivered in 30 min`);
    }
    await jobDone;
    const drainedAt = lastAt;
    const deliveredAtSync = seenAtSync;
    before.sort((a, b) => a - b);
    duringSync.sort((a, b) => a - b);
    afterSync.sort((a, b) => a - b);
    const label = `webhooks ${USERS.toLocaleString('en-US')} members added by a new rule`;
    return [
      { name: `${label}: group sync without a subscription`, value: Math.round(baselineMs), unit: 'ms' },
      { name: `${label}: HR PATCH p50 while that sync runs`, value: Math.round(percentile(alone, 50)), unit: 'ms' },
      { name: `${label}: HR PATCH p95 while that sync runs`, value: Math.round(percentile(alone, 95)), unit: 'ms' },
      { name: `${label}: group sync`, value: Math.round(syncedAt - created), unit: 'ms' },
      { name: `${label}: first event received after creation`, value: Math.round(firstAt - created), unit: 'ms' },
      { name: `${label}: drained (last event received after creation)`, value: Math.round(drainedAt - created), unit: 'ms' },
      { name: `${label}: delivery rate`, value: Math.round((USERS / (drainedAt - firstAt)) * 1000), unit: 'events/s' },
      { name: `${label}: HR PATCH p50 before`, value: Math.round(percentile(before, 50)), unit: 'ms' },
      { name: `${label}: HR PATCH p95 before`, value: Math.round(percentile(before, 95)), unit: 'ms' },
      { name: `${label}: events delivered by the end of the sync`, value: deliveredAtSync, unit: 'events' },
      { name: `${label}: HR PATCH p50 while the sync runs and deliveries drain`, value: Math.round(percentile(duringSync, 50)), unit: 'ms' },
      { name: `${label}: HR PATCH p95 while the sync runs and deliveries drain`, value: Math.round(percentile(duringSync, 95)), unit: 'ms' },
      { name: `${label}: HR PATCH p50 after the sync, while deliveries drain`, value: Math.round(percentile(afterSync, 50)), unit: 'ms' },
      { name: `${label}: HR PATCH p95 after the sync, while deliveries drain`, value: Math.round(percentile(afterSync, 95)), unit: 'ms' },
      { name: `${label}: HR PATCHes while draining`, value: duringSync.length + afterSync.length, unit: 'writes' },
    ];
  } finally {
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    await service.stop();
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await runWhenMain(import.meta.url, run, { keepIn: 'results-webhooks.json' });
