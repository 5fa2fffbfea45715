// Worker processes (ROLE=worker) on a test service's database, for the tests that share jobs between processes or
// kill one mid-job: started on demand, each kept (with its log) until stopAll ends the live ones.
import { spawnService, type ChildService } from './child-service.js';
import { testDatabaseUri, type TestService } from './service.js';

export interface Workers {
  /** Every worker started, live or not, in start order. */
  readonly all: ChildService[];
  start(): Promise<ChildService>;
  /** SIGTERM to those still running; waits for every one to exit. */
  stopAll(): Promise<void>;
}

/**
 * `takeoverAfterMs` shortens how long a killed worker's job stays locked (JOB_LOCK_LIFETIME_MS; 10 s at the tests'
 * 100 ms poll otherwise) and how long its leases outlive it (LEASE_TTL_MS, 10 s otherwise), for tests that kill a
 * worker and wait for another to take its job over: the job taken over then waits for the leases of the keys the
 * victim was writing. Both are renewed by a live worker three times per lifetime.
 */
export function workersOf(service: () => TestService, opts: { takeoverAfterMs?: number } = {}): Workers {
  const all: ChildService[] = [];
  return {
    all,
    async start() {
      const w = await spawnService({
        ROLE: 'worker',
        MONGODB_URI: testDatabaseUri(),
        MONGODB_DB: service().service.config.databaseName,
        JOB_POLL_MS: '100',
        ...(opts.takeoverAfterMs ? { JOB_LOCK_LIFETIME_MS: String(opts.takeoverAfterMs), LEASE_TTL_MS: String(opts.takeoverAfterMs) } : {}),
      });
      all.push(w);
      return w;
    },
    async stopAll() {
      for (const w of all) {
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
        await w.exited;
      }
    },
  };
}
