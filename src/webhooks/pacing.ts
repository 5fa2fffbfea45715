// How fast a worker delivers: as fast as the service can spare, and slower while it is busy. A drain of 50,000 events
// (a new rule's sync) competes with the sync itself and with HR writes for the same database and, in a single-process
// deployment, the same event loop; delivering flat out doubled the sync and tripled the HR p95. Deliveries are never
// urgent to the second, writes are: so each pass is preceded by a probe (the pass's first read, timed), and when
// probes take much longer than the fastest seen lately the worker waits between passes, doubling the wait while the
// service stays busy and halving it as it calms. The fastest-seen mark drifts up slowly, so that a database that is
// simply slower for good becomes the new normal and delivery never starves.

interface PacingOptions {
  /** A probe slower than `factor` × the baseline plus `slackMs` means the service is busy. */
  factor: number;
  slackMs: number;
  /** The first wait, and the longest. */
  minDelayMs: number;
  maxDelayMs: number;
  /** How much the baseline rises per probe (a fraction): about 3× in a minute of one probe a second. */
  drift: number;
}

const DEFAULT_PACING: PacingOptions = { factor: 3, slackMs: 15, minDelayMs: 50, maxDelayMs: 2000, drift: 0.02 };

export class DeliveryPacing {
  private baseline = Number.POSITIVE_INFINITY;
  private delay = 0;

  constructor(private readonly opts: PacingOptions = DEFAULT_PACING) {}

  /** One probe's duration, in milliseconds. */
  observe(ms: number): void {
    const { factor, slackMs, minDelayMs, maxDelayMs, drift } = this.opts;
    const busy = Number.isFinite(this.baseline) && ms > this.baseline * factor + slackMs;
    this.baseline = Number.isFinite(this.baseline) ? Math.min(ms, this.baseline * (1 + drift) + 0.1) : ms;
    if (busy) this.delay = Math.min(maxDelayMs, Math.max(minDelayMs, this.delay * 2));
    else this.delay = this.delay / 2 < minDelayMs ? 0 : this.delay / 2;
  }

  /** How long to wait before the next pass. */
  delayMs(): number {
    return this.delay;
  }
}
