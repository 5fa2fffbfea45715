// start(): config → database → job scheduler → HTTP. stop(): the reverse, under a timeout.
//
// Why this order: the HTTP server is the last thing to open so that nothing is served before the database and
// the scheduler can take the work, and the first thing to close so that no request arrives while they go away.
// Agenda stops before the database closes so that it can unlock the jobs this process holds.
import { systemClock, type Clock } from './platform/clock.js';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { useTimeZone } from './rules/dates.js';
import type { Logger } from './platform/logger.js';
import { createApp } from './app.js';
import { connectDatabase, type Database } from './platform/db/connection.js';
import { createDbAdapter, useDbAdapter } from './platform/db/adapter.js';
import { startLeaseStore } from './platform/db/leases.js';
import { returnIdleLeases, useLeaseStore } from './platform/db/locks.js';
import { superviseEmbeddedDb, type SupervisedEmbeddedDb } from './platform/db/embedded-supervisor.js';
import { createScheduler, type Scheduler } from './jobs/scheduler.js';
import { createMetrics } from './platform/metrics.js';
import { ensureBootstrapKey } from './keys/api-keys.service.js';
import { defineJobs, scheduleRecurringJobs } from './jobs/index.js';
import { wireReactions } from './wiring.js';
import type { ReactionFaults } from './membership/on-change.js';
import { fillMissingHistorySlots, fillMissingPages, forgetSlotMarkers } from './membership/membership-store.js';
import { gaugeSources } from './gauges.js';
import { forgetSnapshot } from './snapshot/directory-snapshot.js';
import { forgetLog } from './changes/change-log.js';
import { startDeliveryWorker } from './webhooks/delivery.js';
import { registerWebhookGauges } from './webhooks/delivery-gauges.js';

export interface Service {
  readonly config: Config;
  readonly database: Database;
  readonly scheduler: Scheduler;
  readonly server: http.Server;
  /** The port actually bound (useful with PORT=0). */
  readonly port: number;
  stop(): Promise<void>;
}

/** What a test injects into the service it starts. */
export interface StartOptions {
  reactionFaults?: ReactionFaults;
  /** The calendar's now (platform/clock.ts); the system clock when absent. */
  clock?: Clock;
}

export async function start(config: Config, logger: Logger, opts: StartOptions = {}): Promise<Service> {
  const undo: Array<() => Promise<void>> = [];
  const rollback = async () => {
    for (const step of undo.reverse()) await step().catch((err: unknown) => logger.error({ err }, 'error while undoing start'));
  };

  // Calendar dates in rules and facts are days in TIMEZONE: read them so before anything evaluates a rule.
  useTimeZone(config.timeZone);
  try {
    let uri = config.mongodbUri;
    let embedded: SupervisedEmbeddedDb | undefined;
    if (!uri) {
      // Its first start builds it (minutes): the build says what it is doing every few seconds. Supervised: if it
      // dies, it is started again on the same port, and the driver finds it there.
      embedded = await superviseEmbeddedDb({ dataDir: path.join(config.dataDir, 'ferretdb'), port: config.embeddedDbPort, logger });
      undo.push(() => embedded!.stop());
      uri = embedded.uri;
      logger.info({ uri, dataDir: config.dataDir }, 'embedded database started');
    }

    const database = await connectDatabase(uri, config.databaseName);
    undo.push(() => database.close());
    logger.info({ kind: database.kind, version: database.version, db: config.databaseName }, 'database connected');
    // Every backend difference the domain meets goes through this adapter, made once the server is known.
    useDbAdapter(createDbAdapter(database));
    undo.push(async () => useDbAdapter(undefined));
    // Before anything takes a lock: what one process's locks exclude, the leases exclude across processes.
    const leases = await startLeaseStore({ ttlMs: config.leaseTtlMs, waitMs: config.leaseWaitMs });
    useLeaseStore(leases);
    undo.push(async () => {
      await returnIdleLeases();
      useLeaseStore(undefined);
      await leases.stop();
    });
    // Memberships stored before page buckets existed get theirs, in the background (members pages wait for it).
    void fillMissingPages()
      .then((n) => n > 0 && logger.info({ memberships: n }, 'membership page buckets filled in'))
      .catch((err: unknown) => logger.warn({ err }, 'filling in membership page buckets failed; the next start tries again'));
    // History entries stored before time slots existed get theirs, in the background (history pages wait for it).
    void fillMissingHistorySlots()
      .then((n) => n > 0 && logger.info({ entries: n }, 'history time slots filled in'))
      .catch((err: unknown) => logger.warn({ err }, 'filling in history time slots failed; the next start tries again'));

    if (config.bootstrapAdminKey && (await ensureBootstrapKey(config.bootstrapAdminKey))) {
      logger.info('bootstrap admin key created');
    }

    const metrics = createMetrics();
    registerWebhookGauges(metrics.registry);
    const scheduler = await createScheduler({
      db: database.db,
      logger,
      metrics,
      pollMs: config.jobPollMs,
      lockLifetimeMs: config.jobLockLifetimeMs,
      workerName: `${config.role}-${process.pid}`,
    });
    undo.push(() => scheduler.stop());
    metrics.setGaugeSources(gaugeSources(scheduler));
    const clock = opts.clock ?? systemClock;
    defineJobs({ scheduler, config, logger, metrics, clock });
    // Reactions are wired before jobs are processed: a replay of an open directory write needs them.
    const unwire = wireReactions({ config, logger, metrics, scheduler, clock, ...(opts.reactionFaults ? { faults: opts.reactionFaults } : {}) });
    undo.push(async () => unwire());
    // Previews hold the directory snapshot in memory, and the change log's writers the numbers they have seen; a
    // stopped service holds nothing (a service started again in this process may find its database dropped).
    undo.push(() => forgetSnapshot());
    undo.push(async () => forgetLog());
    undo.push(async () => forgetSlotMarkers());
    if (config.role !== 'api') {
      await scheduleRecurringJobs({ scheduler, config, logger, metrics, clock });
      await scheduler.startProcessing();
      logger.info({ pollMs: config.jobPollMs }, 'processing jobs');
      // Webhook deliveries: a loop of this worker's own, beside the jobs (delivery.ts says why not a job).
      const deliveries = startDeliveryWorker({ allowPrivate: config.webhooksAllowPrivateTargets, metrics, logger });
      undo.push(() => deliveries.stop());
    }

    const app = createApp({
      logger,
      metrics,
      scheduler,
      config,
      clock,
      serveApi: config.role !== 'worker',
      readiness: {
        database: () => database.ping(),
        scheduler: async () => {
          if (config.role !== 'api' && !scheduler.isProcessing()) throw new Error('not processing');
          await scheduler.reachable();
        },
      },
    });
    const server = http.createServer(app);
    server.keepAliveTimeout = 5_000;
    // Receiving a request is bounded too (a client that trickles its headers or body holds a connection):
    // headers within 20 s, the whole request within the request bound.
    server.headersTimeout = 20_000;
    server.requestTimeout = config.requestTimeoutMs;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    logger.info({ port, role: config.role }, 'listening');

    const closeServer = () =>
      new Promise<void>((resolve) => {
        // close() stops accepting and resolves when in-flight requests have finished and their connections closed.
        // Idle connections are closed at once; a keep-alive connection whose request ends during the stop would stay
        // open for keepAliveTimeout (the stop lasted 4 s longer, measured), so idle ones are closed until the end.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.close(() => {
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      });
    undo.push(closeServer);

    let stopping: Promise<void> | undefined;
    return {
      config,
      database,
      scheduler,
      server,
      port,
      stop() {
        stopping ??= (async () => {
          const timer = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs).unref();
          await rollback();
          clearTimeout(timer);
        })();
        return stopping;
      },
    };
  } catch (err) {
    await rollback();
    throw err;
  }
}
