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

export function workersOf(service: () => TestService): Workers {
  const all: ChildService[] = [];
  return {
    all,
    async start() {
      const w = await spawnService({ ROLE: 'worker', MONGODB_URI: testDatabaseUri(), MONGODB_DB: service().service.config.databaseName, JOB_POLL_MS: '100' });
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
