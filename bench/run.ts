// `npm run bench`: runs every bench/*.bench.ts (or those named on the command line), prints one table, and writes
// the figures to bench/results.json as [{ name, value, unit }] so that runs can be compared.
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { printTable, type BenchResult } from './print.js';


const here = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = (await readdir(here))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

const results: BenchResult[] = [];
for (const file of files) {
  console.log(`\n== ${file}`);
  const mod = (await import(pathToFileURL(path.join(here, file)).href)) as { run: () => Promise<BenchResult[]> };
  const started = Date.now();
  const rows = await mod.run();
  results.push(...rows);
  printTable(rows);
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

await writeFile(path.join(here, 'results.json'), JSON.stringify(results, null, 2) + '\n');
console.log(`\nwrote ${results.length} figures to bench/results.json`);
