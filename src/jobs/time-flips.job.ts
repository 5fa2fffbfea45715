// The wake-up of time-based rules: one job scheduled at the earliest stored time flip (src/membership/time-flips.ts).
// At that instant it reads the due flips (a bounded batch), re-evaluates exactly those users for those groups
// (time-flip-scope.ts, under the users' locks), and schedules itself at the next stored instant.
//
// Who schedules it: every write of flips that stores an instant earlier than every pending wake-up (useFlipWake),
// each wake-up for the next instant, and each worker at start for the earliest stored instant. Wake-ups are named
// by their instant (`time-flips:<ms>`), so two writers asking for the same instant schedule one; a wake-up that finds
// nothing due (its flips were moved meanwhile) only schedules the next. A worker killed mid-run leaves its Agenda
// lock to expire and the flips in place: another worker runs the wake-up again, and the deterministic writes of the
// flip scope make the second run write nothing twice.
//
// Agenda runs a job when its nextRunAt comes, checking every JOB_POLL_MS for jobs due within the next interval, so a
// wake-up starts at its instant (never before: flips due are those at or before the wall clock) plus the time to take
// its lock.
import type { JobsDeps } from '../service-deps.js';
import { applyTimeFlips } from '../membership/time-flip-scope.js';
import { dropAllFlips, dueFlips, storedFlipZone, useFlipWake, type TimeFlipDoc } from '../membership/time-flips.js';
import type { JobContext, Scheduler } from './scheduler.js';
import { SYNC_ALL_JOB } from './sync-all.job.js';
import { valveOf } from './sync-settings.js';
import { eachLimited } from '../platform/each-limited.js';
import { groupBy } from '../platform/group-by.js';

export const TIME_FLIPS_JOB = 'time-flips';

/**
 * Flips read at once (one read of their day: a crowd due at one second is read once, not once per slice); a wake-up
 * goes on with the next batch while more are due, for up to RUN_MS.
 */
export const FLIP_BATCH = 10_000;
const RUN_MS = 60_000;

/** Users of one instant applied together, and how many such slices run at once. */
const FLIP_SLICE = 500;
const SLICES_IN_FLIGHT = 2;

/** A wake-up that failed (the database away) is tried again this much later. */
const RETRY_MS = 5000;

interface TimeFlipsJobData {
  at: string;
}

/** Makes sure a wake-up runs at `at` or earlier (never later). */
export async function wakeBy(scheduler: Scheduler, at: Date): Promise<void> {
  // Not a wake-up running now: that one may have read the flips already.
  const pending = await scheduler.earliestWaiting(TIME_FLIPS_JOB);
  if (pending && pending.getTime() <= at.getTime()) return;
  // A wake-up for an instant already past runs now; its id is then the moment asked, so that it is a new run.
  const when = new Date(Math.max(at.getTime(), Date.now()));
  await scheduler.scheduleAt<TimeFlipsJobData>(when, TIME_FLIPS_JOB, { at: when.toISOString() }, { jobId: `${TIME_FLIPS_JOB}:${when.getTime()}`, actor: 'schedule' });
}

export function defineTimeFlipsJob({ scheduler, config, metrics }: JobsDeps): void {
  // Every process that stores flips (API processes too: directory writes) brings the wake-up forward.
  useFlipWake((at) => wakeBy(scheduler, at));
  scheduler.define<TimeFlipsJobData>({
    name: TIME_FLIPS_JOB,
    concurrency: 1,
    async run(_data, ctx) {
      try {
        return await wakeUp(ctx);
      } catch (err) {
        // The due flips stay stored; without a wake-up nothing would handle them until the next write or start.
        await wakeBy(scheduler, new Date(Date.now() + RETRY_MS)).catch(() => undefined);
        throw err;
      }
    },
  });

  async function wakeUp(ctx: JobContext) {
    const started = Date.now();
    const result = { flips: 0, added: 0, removed: 0, failed: {} as Record<string, string>, lateMs: 0 };
    // Batch after batch while more are due (a crowd due at one second), for a bounded time: no wait for the next
    // poll between batches. Progress keeps the job's lock.
    for (;;) {
      const now = new Date();
      const { due, next } = await dueFlips(now, FLIP_BATCH);
      await applyBatch(due, now, result, ctx);
      result.flips += due.length;
      if (due.length < FLIP_BATCH) {
        if (next) await wakeBy(scheduler, next);
        return result;
      }
      if (Date.now() - started > RUN_MS) {
        await wakeBy(scheduler, new Date());
        return result;
      }
    }
  }

  async function applyBatch(due: readonly TimeFlipDoc[], now: Date, result: { flips: number; added: number; removed: number; failed: Record<string, string>; lateMs: number }, ctx: JobContext) {
    // Flips due at one instant are applied together, as one writer named by that instant, in slices of that instant's
    // users run side by side (each under its own users' locks): the first users flip after one slice's work rather
    // than the whole batch's, and the database works on two at once.
    const byInstant = groupBy(due, (f) => f.at.getTime());
    let done = 0;
    const slices: Array<[number, TimeFlipDoc[]]> = [];
    for (const [at, flips] of byInstant) for (let i = 0; i < flips.length; i += FLIP_SLICE) slices.push([at, flips.slice(i, i + FLIP_SLICE)]);
    await eachLimited(slices, SLICES_IN_FLIGHT, async ([at, flips]) => {
      const outcome = await applyTimeFlips(flips, new Date(at), { valve: valveOf(config), metrics });
      result.added += outcome.added;
      result.removed += outcome.removed;
      Object.assign(result.failed, outcome.failed);
      result.lateMs = Math.max(result.lateMs, now.getTime() - at);
      // Each slice is progress, which keeps the job's lock through a long batch.
      done += flips.length;
      await ctx.progress(result.flips + done, result.flips + due.length);
    });
  }
}

/**
 * At a worker's start: flips computed under another TIMEZONE are dropped and a full sync recomputes them all;
 * otherwise the wake-up is scheduled at the earliest stored flip (after a restart, or a wake-up lost with a killed
 * process before it was scheduled).
 */
export async function scheduleTimeFlips({ scheduler, config, logger }: JobsDeps): Promise<void> {
  const zone = await storedFlipZone();
  if (zone !== null && zone !== config.timeZone) {
    logger.info({ from: zone, to: config.timeZone }, 'TIMEZONE changed: time flips are recomputed by a full sync');
    await dropAllFlips();
    await scheduler.enqueue(SYNC_ALL_JOB, {}, { jobId: `${SYNC_ALL_JOB}:timezone:${config.timeZone}:${Date.now()}`, actor: 'schedule' });
    return;
  }
  const { next, due } = await dueFlips(new Date(), 1);
  if (due.length) await wakeBy(scheduler, new Date());
  else if (next) await wakeBy(scheduler, next);
}
