// `npm run bench`: runs every bench/*.bench.ts (or those named on the command line), prints one table, and writes
// the figures to bench/results.json as [{ name, value, unit, bench }] so that runs can be compared. Running some
// benches replaces their figures there and keeps the others' (a figure from before `bench` was recorded is replaced
// when a run measures one of the same name).
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { printTable, type BenchResult } from './print.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = (await readdir(here))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

const results: Array<BenchResult & { bench: string }> = [];
for (const file of files) {
  console.log(`\n== ${file}`);
  const mod = (await import(pathToFileURL(path.join(here, file)).href)) as { run: () => Promise<BenchResult[]> };
  const started = Date.now();
  const rows = await mod.run();
  results.push(...rows.map((r) => ({ ...r, bench: file })));
  printTable(rows);
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

const file = path.join(here, 'results.json');
const previous = JSON.parse(await readFile(file, 'utf8').catch(() => '[]')) as Array<BenchResult & { bench?: string }>;
const ran = new Set(files);
const measured = new Set(results.map((r) => r.name));
const kept = previous.filter((r) => !(r.bench !== undefined && ran.has(r.bench)) && !measured.has(r.name));
await writeFile(file, JSON.stringify([...kept, ...results], null, 2) + '\n');
console.log(`\nwrote ${results.length} figures to bench/results.json (${kept.length} of other benches kept)`);
