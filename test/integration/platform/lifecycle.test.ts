// The process as operators run it: start, ready, SIGTERM → exit 0 within 10 s, and config errors that stop the
// start with a message naming the variable.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { spawnService } from '../../helpers/child-service.js';
import { testDatabaseUri, uniqueDatabaseName } from '../../helpers/service.js';
import { freePort } from '../../helpers/ports.js';

function get(port: number, urlPath: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, headers }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('process lifecycle', function () {
  this.timeout(90_000);

  it('when a running service gets SIGTERM, then it finishes in-flight work and exits 0 within 10 s', async () => {
    const key = 'agk_lifecycle_test_bootstrap_key_000000001';
    const svc = await spawnService({ MONGODB_URI: testDatabaseUri(), MONGODB_DB: uniqueDatabaseName('life'), BOOTSTRAP_ADMIN_KEY: key });
    expect((await get(svc.port, '/ready')).status).to.equal(200);
    expect((await get(svc.port, '/api/v1/keys', { Authorization: `Bearer ${key}` })).status).to.equal(200);

    // A request the server has started on: headers and half the body sent before the signal, the rest after.
    const body = JSON.stringify({ name: 'created during shutdown', role: 'viewer' });
    const inFlight = new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: svc.port, method: 'POST', path: '/api/v1/keys', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        svc.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 300);
    });
    const signalledAt = Date.now() + 300;
    expect(await inFlight).to.equal(201);
    const answeredAt = Date.now();
    const code = await svc.exited;
    const tookMs = Date.now() - signalledAt;
    expect(code).to.equal(0);
    expect(tookMs).to.be.below(10_000);
    // The in-flight request's keep-alive connection is closed once it is answered, not kept for keepAliveTimeout
    // (the stop then waited 4 s for it).
    expect(Date.now() - answeredAt, 'exit after the last answer').to.be.below(2000);
    const text = svc.output.join('\n');
    expect(text).to.not.match(/unhandled rejection|UnhandledPromiseRejection/i);
    expect(text).to.contain('"msg":"stopped"');
  });

  it('when started with no MONGODB_URI, then it runs the embedded database, and SIGTERM stops both', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-embedded-'));
    await chmod(dataDir, 0o711); // reachable by nobody (see global-hooks.ts)
    try {
      const svc = await spawnService({ DATA_DIR: dataDir, EMBEDDED_DB_PORT: String(await freePort()) });
      const ready = await get(svc.port, '/ready');
      expect(ready.status).to.equal(200);
      const started = svc.output.map((l) => JSON.parse(l) as { msg?: string; kind?: string }).find((e) => e.msg === 'database connected');
      expect(started?.kind).to.equal('ferretdb');
      const embeddedPid = await devdbPidUnder(dataDir);
      expect(embeddedPid, 'devdb process').to.be.a('number');
      const { readFile } = await import('node:fs/promises');
      const postgresPid = Number((await readFile(path.join(dataDir, 'ferretdb', 'postgresql', 'postmaster.pid'), 'utf8')).split('\n')[0]);
      expect(processAlive(postgresPid), 'PostgreSQL process').to.equal(true);
      svc.child.kill('SIGTERM');
      expect(await svc.exited).to.equal(0);
      expect(processAlive(embeddedPid!)).to.equal(false);
      expect(processAlive(postgresPid), 'PostgreSQL stopped with devdb').to.equal(false);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('when `npm start` gets SIGTERM (at npm\'s pid only), then the service stops gracefully and its embedded database with it', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-npm-start-'));
    let tree: Array<{ pid: number; cmdline: string }> = [];
    try {
      const svc = await spawnService({ DATA_DIR: dataDir, EMBEDDED_DB_PORT: String(await freePort()) }, 60_000, ['npm', 'start']);
      expect((await get(svc.port, '/ready')).status).to.equal(200);
      tree = await descendantsOf(svc.child.pid!);
      const node = tree.find((p) => p.cmdline.includes('src/main.ts') && !p.cmdline.startsWith('sh'));
      expect(node, `node under npm in ${JSON.stringify(tree)}`).to.not.equal(undefined);
      const devdb = await devdbPidUnder(dataDir);
      expect(devdb, 'devdb process').to.be.a('number');

      process.kill(svc.child.pid!, 'SIGTERM');
      expect(await svc.exited).to.equal(0);
      const text = svc.output.join('\n');
      expect(text).to.contain('"msg":"stopped"');
      expect(await gone(node!.pid), 'node still running after npm exited').to.equal(true);
      expect(await gone(devdb!), 'devdb still running after npm exited').to.equal(true);
    } finally {
      // Whatever the signal left running (the node process did, before the start script exec'd it) ends here.
      for (const p of tree) if (processAlive(p.pid)) process.kill(p.pid, 'SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('when a setting is bad, then the start stops with a message naming it and exit code 2', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH ?? '', ROLE: 'manager', SYNC_CRON: 'nightly' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).to.equal(2);
    expect(stderr).to.contain('ROLE').and.to.contain('SYNC_CRON').and.to.contain('"manager"');
  });
});

/** The pid of the devdb process serving dataDir, found through /proc (Linux). */
async function devdbPidUnder(dataDir: string): Promise<number | undefined> {
  const { readdir, readFile } = await import('node:fs/promises');
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('devdb') && cmdline.includes(dataDir)) return Number(entry);
  }
  return undefined;
}

/** Every process below pid, with its command line (Linux /proc). */
async function descendantsOf(pid: number): Promise<Array<{ pid: number; cmdline: string }>> {
  const { readdir, readFile } = await import('node:fs/promises');
  const procs: Array<{ pid: number; ppid: number; cmdline: string }> = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // The command name (field 2) is in parentheses and may hold spaces; the parent pid is the 2nd field after it.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim();
    procs.push({ pid: Number(entry), ppid, cmdline });
  }
  const found: Array<{ pid: number; cmdline: string }> = [];
  const walk = (parent: number) => {
    for (const p of procs.filter((q) => q.ppid === parent)) {
      found.push({ pid: p.pid, cmdline: p.cmdline });
      walk(p.pid);
    }
  };
  walk(pid);
  return found;
}

/** Whether the process has ended within a few seconds. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  return !processAlive(pid);
}
