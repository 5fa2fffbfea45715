// What the seed prints while it works: one line per phase with its count ("users  120/240"). On a terminal the
// line is rewritten in place as the count grows; in a log (CI, a pipe) a phase prints its count every few seconds
// while it lasts and once at its end, so that a slow phase shows it moves and a quick one takes a single line.

export interface Phase {
  /** `done` of the phase's total is finished. */
  advance(done: number): void;
  /** The phase is over; `detail` (e.g. "240 created") follows the final count. */
  finish(detail?: string): void;
}

export interface ProgressOutput {
  isTTY?: boolean;
  write(text: string): unknown;
}

const NAME_WIDTH = 15;
const BAR_WIDTH = 24;
/** How often a phase shows its count in a log. */
export const LOG_EVERY_MS = 3000;

const label = (name: string, text: string) => `${name.padEnd(NAME_WIDTH)} ${text}`;

/** A line for a step that has no count. */
export function note(name: string, text: string, out: ProgressOutput = process.stdout): void {
  out.write(`${label(name, text)}\n`);
}

export function phase(name: string, total: number, out: ProgressOutput = process.stdout, now: () => number = Date.now): Phase {
  let done = 0;
  let shownAt = now();
  const count = () => `${String(done).padStart(String(total).length)}/${total}`;
  const bar = () => {
    const filled = total > 0 ? Math.round((done / total) * BAR_WIDTH) : BAR_WIDTH;
    return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
  };
  if (out.isTTY) out.write(label(name, `${count()} ${bar()}`));
  return {
    advance(n) {
      done = Math.min(n, total);
      if (out.isTTY) {
        out.write(`\r\x1b[K${label(name, `${count()} ${bar()}`)}`);
      } else if (now() - shownAt >= LOG_EVERY_MS) {
        shownAt = now();
        out.write(`${label(name, count())}\n`);
      }
    },
    finish(detail) {
      done = total;
      const text = label(name, `${count()}${detail ? `  ${detail}` : ''}`);
      out.write(out.isTTY ? `\r\x1b[K${text}\n` : `${text}\n`);
    },
  };
}
