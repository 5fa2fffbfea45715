// Keeps the embedded database running for the service's lifetime. When devdb dies (killed, crashed), it is
// started again on the same directory and port, so the driver, which keeps trying the same address, finds it
// again without the service restarting. Until then requests answer 503 (db-unavailable.ts) and /ready says
// not ready. Restarts back off (0.25 s doubling to 10 s) while devdb keeps failing to start, and every exit and
// restart is logged.
import type { Logger } from '../logger.js';
import { startEmbeddedDb, type EmbeddedDb } from './embedded-db.js';

export interface SupervisedEmbeddedDb {
  readonly uri: string;
  /** The current devdb process. */
  readonly pid: number;
  /** Restarts so far. */
  readonly restarts: number;
  /** Stops supervising, then stops the database. */
  stop(timeoutMs?: number): Promise<void>;
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 10_000;

export async function superviseEmbeddedDb(opts: { dataDir: string; port: number; logger: Logger }): Promise<SupervisedEmbeddedDb> {
  const start = () => startEmbeddedDb({ dataDir: opts.dataDir, port: opts.port, log: (msg) => opts.logger.info(msg) });
  let current: EmbeddedDb = await start();
  let stopping = false;
  let restarts = 0;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const watch = async (): Promise<void> => {
    for (;;) {
      const how = await current.exited;
      if (stopping) return;
      const downAt = Date.now();
      opts.logger.error({ pid: current.pid, exit: how }, 'the embedded database exited; restarting it');
      let delay = FIRST_RETRY_MS;
      for (;;) {
        // A first short pause: PostgreSQL, signalled by the kernel when devdb died, is shutting down.
        await sleep(delay);
        if (stopping) return;
        try {
          current = await start();
          if (stopping) return; // stop() stops this one
          restarts++;
          opts.logger.warn({ pid: current.pid, downMs: Date.now() - downAt, restarts }, 'the embedded database is back');
          break;
        } catch (err) {
          delay = Math.min(MAX_RETRY_MS, delay * 2);
          opts.logger.error({ err, retryInMs: delay }, 'the embedded database did not restart; trying again');
        }
      }
    }
  };
  const watching = watch();

  return {
    uri: current.uri,
    get pid() {
      return current.pid;
    },
    get restarts() {
      return restarts;
    },
    async stop(timeoutMs) {
      stopping = true;
      wake?.();
      // The watcher waits for the current process to exit (or for a start in progress): stop that one, then
      // whatever a start that was under way when stop() was called brought up.
      await current.stop(timeoutMs);
      await watching;
      await current.stop(timeoutMs);
    },
  };
}
