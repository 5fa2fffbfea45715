// How fast a worker delivers: flat out, except while membership itself is busy with bulk work. A drain of 50,000
// events (a new rule's sync) delivered flat out competed with that very sync for two cores: the sync took twice as
// long (21 s alone, 46 s while delivering) and an HR write's p95 went from 84 to about 400 ms. Membership comes
// first and deliveries are never urgent to the second, so while a group sync or a full sync runs, each delivery pass
// after a full window waits `waitMs` (a 500-event window per 2 s: at most 250 events/s per subscription). Whether
// one runs is read from the database (any process's sync counts), at most once per `checkEveryMs` per worker.
// A latency probe was tried first and measured useless here: the worker's small reads stayed at 1-4 ms while the
// sync was being starved of CPU.

export interface PacingOptions {
  /** How long a pass waits while membership is busy. */
  waitMs: number;
  /** How long a "busy or not" answer is reused. */
  checkEveryMs: number;
}

const DEFAULT_PACING: PacingOptions = { waitMs: 2000, checkEveryMs: 1000 };

export class DeliveryPacing {
  private checkedAt = Number.NEGATIVE_INFINITY;
  private busy: Promise<boolean> = Promise.resolve(false);

  constructor(
    /** Whether membership has bulk work running (group-state.ts syncsRunning). */
    private readonly membershipBusy: () => Promise<boolean>,
    private readonly opts: PacingOptions = DEFAULT_PACING,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** How long to wait before the next pass: `waitMs` while membership is busy, else 0. */
  async delayMs(): Promise<number> {
    const now = this.clock();
    if (now - this.checkedAt >= this.opts.checkEveryMs) {
      this.checkedAt = now;
      // A failed read counts as not busy: pacing never stops delivery.
      this.busy = this.membershipBusy().catch(() => false);
    }
    return (await this.busy) ? this.opts.waitMs : 0;
  }
}
