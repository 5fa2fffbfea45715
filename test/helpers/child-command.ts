// A command-line tool of the project run to its end as a separate process (e.g. `npm run seed`), for what only a
// real process shows: its output, its exit code, and how long it takes to exit once it has said all it had to.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT } from '../../src/platform/paths.js';

export interface CommandRun {
  /** The exit code, or the signal name. */
  code: number | string;
  /** Every line printed (stdout and stderr, in arrival order). */
  lines: string[];
  /** Milliseconds from the last line printed to the exit. */
  silentBeforeExitMs: number;
}

export function runCommand(args: readonly string[], env: Record<string, string>, timeoutMs: number): Promise<CommandRun> {
  const child = spawn(args[0]!, args.slice(1), {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let lastLineAt = Date.now();
  const collect = (line: string) => {
    lines.push(line);
    lastLineAt = Date.now();
  };
  createInterface({ input: child.stdout }).on('line', collect);
  createInterface({ input: child.stderr }).on('line', collect);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not exit within ${timeoutMs} ms:\n${lines.join('\n')}`));
    }, timeoutMs);
    // 'close' rather than 'exit': every line the process wrote has then been read.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, lines, silentBeforeExitMs: Date.now() - lastLineAt });
    });
  });
}
