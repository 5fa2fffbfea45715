// One table of bench figures on stdout: what `npm run bench` prints per file, and what a bench run alone prints.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** One figure a bench measured: what `npm run bench` writes to bench/results.json. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

export function printTable(rows: readonly BenchResult[]): void {
  const width = Math.max(...rows.map((r) => r.name.length), 10);
  for (const r of rows) {
    const v = Number.isInteger(r.value) ? r.value.toLocaleString('en-US') : r.value.toLocaleString('en-US', { maximumFractionDigits: 2 });
    console.log(`${r.name.padEnd(width)}  ${v.padStart(16)}  ${r.unit}`);
  }
}

/**
 * When the bench file is the program (`node --import tsx bench/<name>.bench.ts`): runs it and prints its table,
 * and with `keepIn` also writes its figures to that file beside it (bench/results-<name>.json, committed), as
 * `npm run bench` writes everyone's to bench/results.json. Returns its figures then, and nothing when the file was
 * imported (by `npm run bench`).
 */
export async function runWhenMain(moduleUrl: string, run: () => Promise<BenchResult[]>, opts: { keepIn?: string } = {}): Promise<BenchResult[] | undefined> {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return undefined;
  const rows = await run();
  printTable(rows);
  if (opts.keepIn) {
    const out = new URL(`./${opts.keepIn}`, moduleUrl);
    await writeFile(out, JSON.stringify(rows, null, 2) + '\n');
    console.log(`wrote ${fileURLToPath(out)}`);
  }
  return rows;
}
