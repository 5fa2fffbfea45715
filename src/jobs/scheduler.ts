// Agenda (v6, Mongo backend on the service's own database) behind a small typed facade.
//
// Contract for every job: its handler is idempotent. On the embedded database Agenda's lock is not atomic and a
// job can run on two workers at once; anywhere, a worker that dies mid-job leaves a lock that expires and another
// worker runs the job again. Handlers therefore compute the difference to a desired state and apply it with
// deterministic ids, so a second run finds nothing left to do.
import { randomUUID } from 'node:crypto';
import { Agenda, type Job } from 'agenda';
import { MongoBackend } from '@agendajs/mongo-backend';
import type { Db } from 'mongodb';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { JobRunModel } from './job-run.model.js';

export interface JobContext {
  jobId: string;
  /**
   * When the job was queued (its record's creation): the instant a job stamps its writes with, so that a re-run
   * writes the very same documents. The run's start for a recurring job, which has no record before it runs.
   */
  queuedAt: Date;
  logger: Logger;
  /** Records progress for GET /jobs/{id} and extends the job's lock. */
  progress(done: number, total: number): Promise<void>;
  /** Enqueue a follow-up job (fan-out). */
  enqueue: Scheduler['enqueue'];
  /**
   * The job's record stays running when the handler returns: the jobs it fanned out finish it (settleJobRun),
   * the last of them when it ends. Nothing waits for them.
   */
  handOff(): void;
}

export interface JobDefinition<D = Record<string, unknown>> {
  name: string;
  /** Concurrent runs of this job per worker process. */
  concurrency?: number;
  run(data: D, ctx: JobContext): Promise<unknown>;
  /**
   * After the run's outcome is recorded (completed or failed), and again when a later run of the job finds it
   * completed (its worker died after recording it): a fan-out's child checks here whether it was the last.
   * Idempotent; a failure is logged and changes nothing about this job.
   */
  afterFinish?(data: D, ctx: JobContext): Promise<void>;
}

export interface EnqueueOptions {
  actor?: string;
  /** Use this job id (deterministic fan-out ids make a re-run of the parent enqueue nothing new). */
  jobId?: string;
}

export interface Scheduler {
  readonly agenda: Agenda;
  define<D>(definition: JobDefinition<D>): void;
  enqueue<D extends object>(name: string, data: D, opts?: EnqueueOptions): Promise<string>;
  /**
   * Runs the job at `when` under the id `opts.jobId` (required: a deterministic id, so that two processes scheduling
   * the same run schedule it once). Returns false when a run of that id exists already.
   */
  scheduleAt<D extends object>(when: Date, name: string, data: D, opts: EnqueueOptions & { jobId: string }): Promise<boolean>;
  /** The earliest scheduled run of the job that is waiting to start (not one running now), or null. */
  earliestWaiting(name: string): Promise<Date | null>;
  /** Per job name, the runs that are due and wait for a worker (the jobs-waiting gauge). */
  dueWaiting(): Promise<Map<string, number>>;
  /** Throws when the job store cannot be read (readiness). */
  reachable(): Promise<void>;
  /** The recurring schedule (e.g. the nightly full sync), in `timeZone` (UTC when absent). Idempotent across processes. */
  every(cron: string, name: string, data?: Record<string, unknown>, timeZone?: string): Promise<void>;
  /** Start processing jobs (worker role). */
  startProcessing(): Promise<void>;
  isProcessing(): boolean;
  stop(): Promise<void>;
}

/** Where Agenda keeps its jobs. */
const JOBS_COLLECTION = 'agendaJobs';

/**
 * The most job documents the jobs-waiting gauge reads on a scrape. Agenda's collection holds only scheduled,
 * running and failed jobs (completed ones are removed), so this is a bound against a pile-up, not a sample.
 */
const MAX_GAUGE_JOB_DOCUMENTS = 10_000;

interface AgendaJobDoc {
  name: string;
  nextRunAt?: Date | null;
  lockedAt?: Date | null;
  disabled?: boolean;
}

type AgendaData = { jobId?: string } & Record<string, unknown>;

export interface SchedulerOptions {
  db: Db;
  logger: Logger;
  pollMs: number;
  /** How long a dead worker's job stays locked (config.jobLockLifetimeMs says why). */
  lockLifetimeMs: number;
  workerName: string;
  metrics?: Metrics;
}

/**
 * Records a job's outcome: completed with its result, or failed with the reason, and counts it in `metrics`. The
 * scheduler does it for every job but one handed off, which the last job of its fan-out settles. Returns false,
 * writing nothing, when the job was settled already.
 */
export async function settleJobRun(
  jobId: string,
  name: string,
  outcome: { result: unknown } | { error: string },
  metrics?: Metrics,
): Promise<boolean> {
  const current = await JobRunModel.findById(jobId, { status: 1 }).lean();
  if (current?.status === 'completed' || current?.status === 'failed') return false;
  if ('error' in outcome) {
    await JobRunModel.updateOne({ _id: jobId }, { $set: { status: 'failed', error: outcome.error, finishedAt: new Date() } });
    metrics?.jobFailures.inc({ job: name });
    metrics?.jobRuns.inc({ job: name, outcome: 'failed' });
  } else {
    await JobRunModel.updateOne({ _id: jobId }, { $set: { status: 'completed', result: outcome.result ?? null, finishedAt: new Date() }, $unset: { error: 1 } });
    metrics?.jobRuns.inc({ job: name, outcome: 'completed' });
  }
  return true;
}

/** Progress is logged at most this often per job (a sync reports it every thousand users). */
const PROGRESS_LOG_MS = 10_000;

/** What a job's log line shows of its result: the counts, not the per-group or per-partition detail. */
export function resultCounts(result: unknown): Record<string, unknown> | undefined {
  if (result === null || typeof result !== 'object') return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(result as Record<string, unknown>)) {
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') out[key] = value;
    else if (Array.isArray(value)) out[key] = value.length;
    else if (value && typeof value === 'object') out[key] = Object.keys(value).length;
  }
  return out;
}

export async function createScheduler(opts: SchedulerOptions): Promise<Scheduler> {
  const { logger } = opts;
  const agenda = new Agenda({
    backend: new MongoBackend({ mongo: opts.db, collection: JOBS_COLLECTION }),
    name: opts.workerName,
    processEvery: opts.pollMs,
    defaultLockLifetime: opts.lockLifetimeMs,
    maxConcurrency: 8,
    removeOnComplete: true,
  });
  agenda.on('error', (err: Error) => logger.error({ err }, 'job scheduler error'));
  await agenda.ready;
  let processing = false;

  async function enqueue<D extends object>(name: string, data: D, eopts: EnqueueOptions = {}): Promise<string> {
    const jobId = eopts.jobId ?? randomUUID();
    try {
      await JobRunModel.create({ _id: jobId, name, status: 'queued', data, actor: eopts.actor });
    } catch (err) {
      // The same deterministic id again: that job exists already, enqueue nothing new.
      if ((err as { code?: number }).code === 11000) return jobId;
      throw err;
    }
    await agenda.now(name, { ...data, jobId });
    return jobId;
  }

  async function scheduleAt<D extends object>(when: Date, name: string, data: D, eopts: EnqueueOptions & { jobId: string }): Promise<boolean> {
    try {
      await JobRunModel.create({ _id: eopts.jobId, name, status: 'queued', data, actor: eopts.actor });
    } catch (err) {
      if ((err as { code?: number }).code === 11000) return false;
      throw err;
    }
    await agenda.schedule(when, name, { ...data, jobId: eopts.jobId });
    return true;
  }

  function contextFor(jobId: string, queuedAt: Date, jobLogger: Logger, job: Job<AgendaData>, startedAt: Date, handOff: () => void): JobContext {
    let progressLoggedAt = Date.now();
    return {
      jobId,
      queuedAt,
      logger: jobLogger,
      enqueue,
      handOff,
      async progress(done, total) {
        await JobRunModel.updateOne({ _id: jobId }, { $set: { 'progress.done': done, 'progress.total': total } });
        if (Date.now() - progressLoggedAt >= PROGRESS_LOG_MS) {
          progressLoggedAt = Date.now();
          jobLogger.info({ done, total, durationMs: Date.now() - startedAt.getTime() }, 'job progress');
        }
        try {
          await job.touch();
        } catch (err) {
          // The job document is gone: another run of this job (two workers can lock it at once on the embedded
          // database) completed it and Agenda removed it. Handlers are idempotent, so this run finishes its
          // work rather than failing a job that is done; its own completion is written as usual.
          jobLogger.warn({ err }, 'cannot extend the lock: another run completed this job; finishing anyway');
        }
      },
    };
  }

  /**
   * Renews a running job's lock three times per lifetime, as BullMQ renews its job locks: the lock then says whether
   * the worker is alive, not whether the job reported progress lately, so a lifetime can be short (a killed worker's
   * job is taken over soon) without a live job that is slow between two progress reports being run a second time
   * by another worker (Agenda would also cancel it). A renewal that fails (the job document is gone: another run
   * completed it) is left to the run. stop() waits for a renewal in flight, so that none lands after Agenda has
   * saved the job's end.
   */
  function renewLock(job: Job<AgendaData>, jobLogger: Logger): { stop(): Promise<void> } {
    let inFlight: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      inFlight = job.touch().catch((err: unknown) => jobLogger.debug({ err }, 'job lock not renewed'));
    }, Math.max(250, Math.floor(opts.lockLifetimeMs / 3)));
    timer.unref();
    return {
      async stop() {
        clearInterval(timer);
        await inFlight;
      },
    };
  }

  function define<D>(def: JobDefinition<D>): void {
    agenda.define<AgendaData>(
      def.name,
      async (job: Job<AgendaData>) => {
        const { jobId: givenId, ...data } = job.attrs.data ?? {};
        // A recurring job keeps one Agenda document for all its runs: name each run's record by the occurrence
        // that follows it (computed before the handler runs, the same on every worker), or every run after the
        // first would find a completed record and do nothing.
        const occurrence = job.attrs.repeatInterval && job.attrs.nextRunAt ? `:${job.attrs.nextRunAt.getTime()}` : '';
        const jobId = givenId ?? `agenda:${String(job.attrs._id)}${occurrence}`;
        const jobLogger = logger.child({ job: def.name, jobId });
        let handedOff = false;
        const afterFinish = async (ctx: JobContext) => {
          try {
            await def.afterFinish?.(data as D, ctx);
          } catch (err) {
            jobLogger.error({ err }, 'job finished, but what follows its end failed');
          }
        };
        const run = await JobRunModel.findById(jobId).lean();
        if (run?.status === 'completed') {
          jobLogger.info('job already completed by another run; nothing to do');
          await afterFinish(contextFor(jobId, run.createdAt ?? new Date(), jobLogger, job, new Date(), () => (handedOff = true)));
          return;
        }
        const startedAt = new Date();
        if (run) {
          await JobRunModel.updateOne({ _id: jobId }, { $set: { status: 'running', startedAt }, $inc: { attempts: 1 } });
        } else {
          // Recurring jobs (the nightly sync) have no record made by enqueue.
          await JobRunModel.updateOne(
            { _id: jobId },
            { $setOnInsert: { name: def.name, data, status: 'running', startedAt, attempts: 1 } },
            { upsert: true },
          );
        }
        jobLogger.info({ attempt: (run?.attempts ?? 0) + 1, data }, 'job started');
        const ctx = contextFor(jobId, run?.createdAt ?? startedAt, jobLogger, job, startedAt, () => (handedOff = true));
        const renewal = renewLock(job, jobLogger);
        try {
          const result = await def.run(data as D, ctx);
          if (handedOff) {
            jobLogger.info({ durationMs: Date.now() - startedAt.getTime() }, 'job handed off: the jobs it fanned out finish it');
            return;
          }
          await settleJobRun(jobId, def.name, { result }, opts.metrics);
          jobLogger.info({ durationMs: Date.now() - startedAt.getTime(), result: resultCounts(result) }, 'job completed');
        } catch (err) {
          // A second run of the same job (the embedded database's lock is not atomic) fails when it extends a lock
          // whose document the first run's completion removed: the job is done, its record must stay completed.
          if ((await JobRunModel.findById(jobId, { status: 1 }).lean())?.status === 'completed') {
            jobLogger.warn({ err }, 'a second run of a completed job failed; the job stays completed');
            return;
          }
          const message = err instanceof Error ? err.message : String(err);
          await settleJobRun(jobId, def.name, { error: message }, opts.metrics);
          jobLogger.error({ err, durationMs: Date.now() - startedAt.getTime() }, 'job failed');
          await afterFinish(ctx);
          throw err;
        } finally {
          await renewal.stop();
        }
        await afterFinish(ctx);
      },
      // lockLimit = concurrency: a worker locks only the jobs it can run now and leaves the rest to other workers
      // (Agenda's default, no limit, locks every due job of the name at each poll and runs them one after another).
      { concurrency: def.concurrency ?? 2, lockLimit: def.concurrency ?? 2, lockLifetime: opts.lockLifetimeMs },
    );
  }

  return {
    agenda,
    define,
    enqueue,
    scheduleAt,
    async earliestWaiting(name) {
      const jobs = opts.db.collection<AgendaJobDoc>(JOBS_COLLECTION);
      let earliest: Date | null = null;
      for (const j of await jobs.find({ name }, { projection: { nextRunAt: 1, lockedAt: 1 } }).toArray()) {
        if (j.nextRunAt && !j.lockedAt && (!earliest || j.nextRunAt < earliest)) earliest = j.nextRunAt;
      }
      return earliest;
    },
    async dueWaiting() {
      const now = Date.now();
      const out = new Map<string, number>();
      const docs = opts.db
        .collection<AgendaJobDoc>(JOBS_COLLECTION)
        .find({}, { projection: { name: 1, nextRunAt: 1, lockedAt: 1, disabled: 1 } })
        .limit(MAX_GAUGE_JOB_DOCUMENTS);
      for await (const j of docs) {
        if (j.disabled || j.lockedAt || !j.nextRunAt || j.nextRunAt.getTime() > now) continue;
        out.set(j.name, (out.get(j.name) ?? 0) + 1);
      }
      return out;
    },
    async reachable() {
      await opts.db.collection(JOBS_COLLECTION).estimatedDocumentCount();
    },
    async every(cron, name, data = {}, timeZone = 'UTC') {
      await agenda.every(cron, name, data, { skipImmediate: true, timezone: timeZone });
    },
    async startProcessing() {
      await agenda.start();
      processing = true;
    },
    isProcessing: () => processing,
    async stop() {
      // stop() unlocks the jobs this process holds, so another worker can take them at once.
      await agenda.stop(false);
      processing = false;
    },
  };
}
