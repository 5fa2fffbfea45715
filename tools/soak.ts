// `npm run soak [runs] [test file]`: runs one fault test again and again, each run in a mocha process of its own, and
// says how many ended exact. By default the database-outage test (the embedded database killed mid-batch, the batch
// retried, then membership, counts and history compared) ten times. Not part of CI: ten runs take about two
// minutes. Each failed run's output is kept in .tmp/soak-<n>.log.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 10);
const file = process.argv[3] ?? 'test/integration/platform/database-outage.test.ts';
if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive integer (got ${process.argv[2]})`);

function runOnce(): Promise<{ ok: boolean; output: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'node_modules/mocha/bin/mocha.js'), file], {
      cwd: root,
      env: { ...process.env, OUTAGE_DEBUG: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => resolve({ ok: code === 0, output, ms: Date.now() - started }));
  });
}

await mkdir(path.join(root, '.tmp'), { recursive: true });
let passed = 0;
for (let i = 1; i <= runs; i++) {
  const { ok, output, ms } = await runOnce();
  // The test's own summary lines (timings of the outage and of the recovery).
  const figures = output.split('\n').filter((l) => /^ {6}(batch answered|membership settled)/.test(l)).map((l) => l.trim());
  console.log(`run ${i}/${runs}: ${ok ? 'exact' : 'FAILED'} in ${(ms / 1000).toFixed(0)} s${figures.length ? `; ${figures.join('; ')}` : ''}`);
  if (ok) passed++;
  else await writeFile(path.join(root, '.tmp', `soak-${i}.log`), output);
}
console.log(`${passed} passed, ${runs - passed} failed`);
process.exitCode = passed === runs ? 0 : 1;
