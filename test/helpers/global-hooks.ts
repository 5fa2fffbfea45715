// Mocha global fixtures: one database server for the whole run. With MONGODB_URI set, tests use that server
// (e.g. a real MongoDB 6+); otherwise an embedded FerretDB on a throwaway directory and a free port.
// Each test file then works in a database of its own (see service.ts).
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedDb, type EmbeddedDb } from '../../src/platform/db/embedded-db.js';
import { freePort } from './ports.js';

let embedded: EmbeddedDb | undefined;
let dir: string | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  if (process.env.MONGODB_URI) {
    process.env.TEST_MONGODB_URI = process.env.MONGODB_URI;
    return;
  }
  dir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-test-'));
  // As root without user namespaces, PostgreSQL runs as nobody, which must be able to enter the directory.
  await chmod(dir, 0o711);
  embedded = await startEmbeddedDb({ dataDir: dir, port: await freePort() });
  process.env.TEST_MONGODB_URI = embedded.uri;
}

export async function mochaGlobalTeardown(): Promise<void> {
  await embedded?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}
