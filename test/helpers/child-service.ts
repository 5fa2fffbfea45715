// The service as a separate process (`node --import tsx src/main.ts`), for what only a real process shows:
// signals, exit codes, several workers on one database.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ChildService {
  child: ChildProcess;
  /** The port from the service's "listening" log line. */
  port: number;
  /** Every line the process printed so far (stdout and stderr). */
  output: string[];
  /** Resolves with the exit code (or the signal name) when the process ends. */
  exited: Promise<number | string>;
}

/** The service as `npm start` runs it, minus npm. */
const NODE_MAIN = [process.execPath, '--import', 'tsx', 'src/main.ts'];

export async function spawnService(env: Record<string, string>, readyTimeoutMs = 60_000, command: readonly string[] = NODE_MAIN): Promise<ChildService> {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  createInterface({ input: child.stderr! }).on('line', (l) => output.push(l));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service not listening within ${readyTimeoutMs} ms:\n${output.join('\n')}`)), readyTimeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'listening' && typeof entry.port === 'number') {
          clearTimeout(timer);
          resolve(entry.port);
        }
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`service exited (${code}) before listening:\n${output.join('\n')}`));
    });
  });
  return { child, port, output, exited };
}
