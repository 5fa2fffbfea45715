// A running service for integration tests: the real start() against the run's database server, in a database
// of the test file's own, with an admin key. Talk to it through HTTP (`api`), look at what it stored through
// `service.database.db`.
import { randomBytes } from 'node:crypto';
import supertest from 'supertest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/platform/logger.js';
import { start, type Service } from '../../src/lifecycle.js';
import type { ReactionFaults } from '../../src/membership/on-change.js';
import { createApiKey } from '../../src/keys/api-keys.service.js';
import type { Role } from '../../src/platform/roles.js';

export function testDatabaseUri(): string {
  const uri = process.env.TEST_MONGODB_URI;
  if (!uri) throw new Error('TEST_MONGODB_URI is not set: run the tests through mocha (global fixtures start the database)');
  return uri;
}

export function uniqueDatabaseName(label = 'test'): string {
  return `t_${label.replace(/[^A-Za-z0-9]/g, '').slice(0, 20)}_${randomBytes(4).toString('hex')}`;
}

export interface TestService {
  service: Service;
  /** supertest bound to the running server. */
  api: supertest.Agent;
  adminKey: string;
  /** Bearer header value for a new key of that role (created once per role). */
  keyFor(role: Role): Promise<string>;
  auth(role?: Role): Promise<{ Authorization: string }>;
  /** Set `failures` to make the next membership reactions fail (injected into the service). */
  reactionFaults: ReactionFaults;
  /** The service's calendar clock: set `now` to move it (class sync's 5 months), back to the system clock after. */
  clock: { now: () => Date };
  stop(): Promise<void>;
}

export async function startTestService(label: string, env: Record<string, string> = {}): Promise<TestService> {
  const config = loadConfig({
    MONGODB_URI: testDatabaseUri(),
    MONGODB_DB: uniqueDatabaseName(label),
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JOB_POLL_MS: '100',
    ...env,
  });
  const reactionFaults: ReactionFaults = { failures: 0 };
  const clock = { now: () => new Date() };
  const service = await start(config, createLogger(config.logLevel), { reactionFaults, clock });
  const keys = new Map<Role, string>();
  const admin = await createApiKey('test admin', 'admin');
  keys.set('admin', admin.key);
  const api = supertest.agent(service.server);
  const keyFor = async (role: Role) => {
    let key = keys.get(role);
    if (!key) {
      key = (await createApiKey(`test ${role}`, role)).key;
      keys.set(role, key);
    }
    return key;
  };
  return {
    service,
    reactionFaults,
    clock,
    api,
    adminKey: admin.key,
    keyFor,
    auth: async (role: Role = 'admin') => ({ Authorization: `Bearer ${await keyFor(role)}` }),
    async stop() {
      await service.database.db.dropDatabase().catch(() => undefined);
      await service.stop();
    },
  };
}
