// Members in and out, on the embedded database (FerretDB v1 over PostgreSQL), against the service as its own process
// (`node --import tsx src/main.ts`, as `npm start` runs it) so that its memory is measured apart from this bench's:
//
// - CSV association upload (POST /groups/{id}/members/import) of MEMBERS_IO_IMPORT_ROWS rows (default 50,000): by
//   externalId into an empty group (time), the same file again (nothing to add: time), and by email in another case
//   than stored into a second group (time);
// - export (GET /groups/{id}/members.csv) of a group of MEMBERS_IO_EXPORT_MEMBERS members (default 100,000): time,
//   and the service process's RSS before the export and its peak during it (VmRSS from /proc, sampled every 25 ms),
//   read by a client that consumes the stream as it comes.
//
// Users are inserted behind the API (the bench's setup, not what it measures); the exported group is filled by one
// CSV upload (its time is printed, not recorded).
// `npm run bench -- members-io` runs it alone (and writes bench/results.json as every bench run does);
// `node --import tsx bench/members-io.bench.ts` runs it without writing. Smaller sizes for a quick check:
// MEMBERS_IO_IMPORT_ROWS=2000 MEMBERS_IO_EXPORT_MEMBERS=2000.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { startEmbeddedDb } from '../src/platform/db/embedded-db.js';
import { freePort } from '../test/helpers/ports.js';
import { spawnService } from '../test/helpers/child-service.js';
import { rng, userDoc } from './membership.bench.js';
import { runWhenMain, type BenchResult } from './print.js';

const IMPORT_ROWS = Number(process.env.MEMBERS_IO_IMPORT_ROWS ?? 50_000);
const EXPORT_MEMBERS = Number(process.env.MEMBERS_IO_EXPORT_MEMBERS ?? 100_000);

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const users = Math.max(IMPORT_ROWS, EXPORT_MEMBERS);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-bench-members-io-'));
  const embedded = await startEmbeddedDb({ dataDir: dir, port: await freePort() });
  const adminKey = randomBytes(24).toString('hex');
  const dbName = 'bench_members_io';
  let service: Awaited<ReturnType<typeof spawnService>> | undefined;
  let client: MongoClient | undefined;
  try {
    // LOG_LEVEL info: spawnService waits for the "listening" line.
    service = await spawnService({
      MONGODB_URI: embedded.uri,
      MONGODB_DB: dbName,
      BOOTSTRAP_ADMIN_KEY: adminKey,
      ROLE: 'api',
      LOG_LEVEL: 'info',
      REQUEST_TIMEOUT_MS: '3600000',
      RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_BATCHES_PER_MINUTE: '0',
    });
    client = await MongoClient.connect(embedded.uri);
    const db = client.db(dbName);
    const base = `http://127.0.0.1:${service.port}/api/v1`;
    const headers = { Authorization: `Bearer ${adminKey}`, 'Content-Type': 'application/json' };
    const newGroup = async (name: string): Promise<string> => {
      const res = await fetch(`${base}/groups`, { method: 'POST', headers, body: JSON.stringify({ name, type: 'manual' }) });
      if (res.status !== 201) throw new Error(`group ${name}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    };

    const now = new Date();
    const rand = rng(users);
    let started = performance.now();
    for (let i = 0; i < users; i += 2000) {
      const docs = [];
      for (let j = i; j < Math.min(users, i + 2000); j++) docs.push(userDoc(j, rand, now));
      await db.collection('users').insertMany(docs as never[], { ordered: false });
    }
    console.log(`  (${users} users inserted in ${((performance.now() - started) / 1000).toFixed(0)} s)`);
    const id = (j: number) => `u${String(j).padStart(7, '0')}`;

    // Import
    const label = `members import ${IMPORT_ROWS.toLocaleString('en-US')} rows`;
    const byId = `externalId\n${Array.from({ length: IMPORT_ROWS }, (_, j) => id(j)).join('\n')}\n`;
    const upload = async (groupId: string, csv: string) => {
      const res = await fetch(`${base}/groups/${groupId}/members/import`, { method: 'POST', headers: { ...headers, 'Content-Type': 'text/csv' }, body: csv });
      if (res.status !== 200) throw new Error(`import: ${res.status} ${await res.text()}`);
      return (await res.json()) as { added: number; unchanged: number; failed: number };
    };
    const target = await newGroup('Import by externalId');
    const first = await timed(() => upload(target, byId));
    if (first.value.added !== IMPORT_ROWS) throw new Error(`import added ${first.value.added} of ${IMPORT_ROWS}`);
    const again = await timed(() => upload(target, byId));
    if (again.value.unchanged !== IMPORT_ROWS || again.value.added !== 0) throw new Error(`second import: ${JSON.stringify(again.value)}`);
    const emails = (await db.collection('users').find({}, { projection: { email: 1 } }).sort({ _id: 1 }).limit(IMPORT_ROWS).toArray()).map((u) => String(u.email).toUpperCase());
    const byEmail = `email\n${emails.join('\n')}\n`;
    const emailTarget = await newGroup('Import by email');
    const third = await timed(() => upload(emailTarget, byEmail));
    if (third.value.added !== IMPORT_ROWS) throw new Error(`email import added ${third.value.added} of ${IMPORT_ROWS}`);
    out.push(
      { name: `${label} by externalId into an empty group (${(byId.length / 1048576).toFixed(2)} MB)`, value: first.ms / 1000, unit: 's' },
      { name: `${label}: the same file again (all unchanged)`, value: again.ms / 1000, unit: 's' },
      { name: `${label} by email, upper-cased (${(byEmail.length / 1048576).toFixed(2)} MB)`, value: third.ms / 1000, unit: 's' },
    );

    // Export
    const exportLabel = `members.csv export of ${EXPORT_MEMBERS.toLocaleString('en-US')} members`;
    const exported = await newGroup('Export');
    // Members added through the API (one CSV upload), so that the group's member count is what the service keeps.
    started = performance.now();
    const filled = await upload(exported, `externalId\n${Array.from({ length: EXPORT_MEMBERS }, (_, j) => id(j)).join('\n')}\n`);
    if (filled.added !== EXPORT_MEMBERS) throw new Error(`export group: ${JSON.stringify(filled)}`);
    console.log(`  (${EXPORT_MEMBERS} members uploaded in ${((performance.now() - started) / 1000).toFixed(0)} s)`);
    const pid = service.child.pid!;
    const rssBefore = await rssMb(pid);
    let peak = rssBefore;
    const sampler = setInterval(() => {
      void rssMb(pid).then((mb) => (peak = Math.max(peak, mb)), () => undefined);
    }, 25);
    let lines = 0;
    let bytes = 0;
    const exportRun = await timed(async () => {
      const res = await fetch(`${base}/groups/${exported}/members.csv`, { headers: { Authorization: headers.Authorization } });
      if (res.status !== 200 || !res.body) throw new Error(`export: ${res.status}`);
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        for (const b of chunk) if (b === 0x0a) lines++;
      }
    });
    clearInterval(sampler);
    peak = Math.max(peak, await rssMb(pid));
    if (lines !== EXPORT_MEMBERS + 1) throw new Error(`export had ${lines} lines, expected ${EXPORT_MEMBERS + 1}`);
    out.push(
      { name: `${exportLabel}: time (${(bytes / 1048576).toFixed(1)} MB)`, value: exportRun.ms / 1000, unit: 's' },
      { name: `${exportLabel}: service RSS before`, value: rssBefore, unit: 'MB' },
      { name: `${exportLabel}: service peak RSS during`, value: peak, unit: 'MB' },
    );
  } finally {
    await client?.close();
    if (service) {
      service.child.kill('SIGTERM');
      await service.exited;
    }
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

await runWhenMain(import.meta.url, run);
