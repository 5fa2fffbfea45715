// One table of bench figures on stdout: what `npm run bench` prints per file, and what a bench run alone prints.
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
