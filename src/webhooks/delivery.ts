// Delivering membership events to webhook subscriptions.
//
// Each subscription works through the change log (src/changes) from its own position, so a full sync's 50,000
// changes cost the writers nothing beyond the log they write anyway, and a slow or dead receiver holds up only its
// own subscription. One worker at a time delivers a subscription: a pass runs under the lease
// `webhook-delivery:<id>` (taken by insert, so exclusive across processes; a dead worker's lease is taken over after
// LEASE_TTL), which is what keeps two workers from sending one delivery at once.
//
// A pass takes the next WINDOW events after the position. Events of one user in one group are sent one after the
// other in log order, and the next waits until the one before is delivered; different users' events go in
// parallel. Every attempt is inserted (`<delivery>:<n>`) after its answer, so a worker that dies mid-send leaves no
// attempt and its successor sends the event again with the same `webhook-id` (at least once, nothing lost). The
// position moves past the delivered prefix of the window only: everything after it is still to be delivered by
// whoever holds the lease next.
//
// Retries back off (RETRY_DELAYS_MS: the first within 10 s, then longer) until the oldest undelivered event has
// failed for DISABLE_AFTER_MS (3 days): then the subscription is disabled with its reason. A 410 disables it at once.
// A subscription that fails is `failing` until a delivery succeeds again.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { db, withLocks } from '../platform/db/index.js';
import { LeaseWaitTimeoutError } from '../platform/db/leases.js';
import { eachLimited } from '../platform/each-limited.js';
import { NotFoundError } from '../platform/errors.js';
import { history } from '../membership/membership-store.js';
import { causalOrder, readEvents, toEvent, type ChangeEvent, type LogPosition } from '../changes/change-events.js';
import { logFloor, pruneLog } from '../changes/change-log.js';
import { attempts, progress, webhooks, type AttemptDoc, type WebhookDoc } from './webhook.model.js';
import { deliveryId, deliveryView, setDeliveryState, signingSecrets, type DeliveryView } from './webhooks.service.js';
import { send, type SendResult } from './send.js';
import { DeliveryPacing } from './pacing.js';
import { syncsRunning } from '../membership/group-state.js';

/** Events one pass looks at. */
const WINDOW = 500;
/** Attempts stored per insert. */
const ATTEMPTS_PER_INSERT = 100;
/** Sends in flight per subscription (different users' events). */
const SENDS_IN_FLIGHT = 16;
/** Wait before retry n+1 after n failed attempts; the last repeats. The first retry within 10 s. */
export const RETRY_DELAYS_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000];
/** A subscription whose oldest undelivered event has failed this long is disabled. */
const DISABLE_AFTER_MS = 3 * 24 * 3600_000;
/** How often a worker looks for work when none was found. */
const IDLE_POLL_MS = 250;
/** How long a subscription rests after a pass that sent nothing (the first attempt still starts within REST_MS + IDLE_POLL_MS of a change). */
const REST_MS = 750;
/** How long a pass waits for another worker's lease on a subscription before leaving it to that worker. */
const LEASE_TRY_MS = 20;
/** Longest a stopping worker waits for its passes in flight. */
const STOP_WAIT_MS = 2000;
/** How often the change log is pruned (by any worker; a prune by two at once deletes the same entries). */
const PRUNE_EVERY_MS = 3600_000;

interface DeliveryOptions {
  allowPrivate: boolean;
  /** The delivery clock: attempt times, retry schedules and the 3-day limit (a seam for tests). */
  now?: () => Date;
  metrics?: Metrics;
}

const deliveryLockKey = (id: string) => `webhook-delivery:${id}`;

export function payload(e: ChangeEvent, at: Date): string {
  return JSON.stringify({
    type: e.type,
    timestamp: at.toISOString(),
    data: { groupId: e.groupId, externalId: e.externalId, source: e.source, reason: e.reason, ...(e.ruleVersion !== undefined ? { ruleVersion: e.ruleVersion } : {}), at: e.at.toISOString() },
  });
}

interface Tried {
  n: number;
  ok: boolean;
  first?: Date;
  last?: Date;
}

function summarise(list: readonly AttemptDoc[] | undefined): Tried {
  if (!list?.length) return { n: 0, ok: false };
  const times = list.map((a) => a.at.getTime());
  return { n: Math.max(...list.map((a) => a.n)), ok: list.some((a) => a.ok), first: new Date(Math.min(...times)), last: new Date(Math.max(...times)) };
}

const describe = (r: SendResult): string => (r.statusCode !== undefined ? `answered ${r.statusCode}` : (r.error ?? 'failed'));

interface PassOutcome {
  /** Events delivered by this pass. */
  delivered: number;
  /** Attempts made by this pass, delivered or not. */
  sent: number;
  /** Whether the window was full and moved: another pass should follow at once. */
  more: boolean;
}

/**
 * One pass over a subscription's next events, by whoever holds its lease (the caller takes it). Idempotent: what
 * was delivered before is recognised from the stored attempts.
 */
export async function deliverPass(sub: WebhookDoc, opts: DeliveryOptions): Promise<PassOutcome> {
  const now = (opts.now ?? (() => new Date()))();
  const [before, floor] = await Promise.all([progress().findOne({ _id: sub._id }), logFloor()]);
  let from = before?.position ?? sub.startAfter;
  // Behind what the log keeps (a subscription disabled for longer than that, then turned back on): what was
  // pruned cannot be delivered any more; it goes on from the oldest change kept.
  if (from.seq + 1 < floor) from = { seq: floor - 1, skip: 0 };
  const { events: read, next } = await readEvents(from, { limit: WINDOW, ...(sub.groups ? { groups: new Set(sub.groups) } : {}) });
  const wanted = new Set<string>(sub.events);
  const events = read.filter((e) => wanted.has(e.type));
  const ids = events.map((e) => deliveryId(sub._id, e.id));
  // Events past the furthest one attempted have no attempt to read (a lagging mark only costs reads).
  const attempted = before?.attempted ?? from;
  const mayHaveAttempts = events.filter((e) => !isAfter(e.after, attempted)).map((e) => deliveryId(sub._id, e.id));
  const stored = new Map<string, AttemptDoc[]>();
  for (const a of await db().readWhereIn(attempts(), 'delivery', mayHaveAttempts)) {
    const list = stored.get(a.delivery) ?? [];
    list.push(a);
    stored.set(a.delivery, list);
  }
  const tried = new Map(ids.map((id) => [id, summarise(stored.get(id))]));

  // In log order, per user and group (a removal after the addition it undoes, causalOrder). Positions below follow
  // the log's order, never this one, so that nothing before an undelivered event is passed over.
  const chains = new Map<string, ChangeEvent[]>();
  for (const e of causalOrder(events)) {
    const key = `${e.groupId}\n${e.externalId}`;
    const chain = chains.get(key) ?? [];
    chain.push(e);
    chains.set(key, chain);
  }
  const secrets = signingSecrets(sub, now);
  // Attempts are inserted in batches as they come (one insert each cost more than the deliveries): a worker that
  // dies before a batch is stored has those events sent again by its successor, with the same webhook-id.
  let unsaved: AttemptDoc[] = [];
  const save = async () => {
    const batch = unsaved;
    unsaved = [];
    if (batch.length) await db().insertIgnoringDuplicates(attempts(), batch);
  };
  let furthest: LogPosition = attempted;
  let gone: SendResult | undefined;
  let lastFailure: SendResult | undefined;
  let delivered = 0;
  let sent = 0;
  await eachLimited([...chains.values()], SENDS_IN_FLIGHT, async (chain) => {
    for (const e of chain) {
      if (gone) return;
      const id = deliveryId(sub._id, e.id);
      const t = tried.get(id)!;
      if (t.ok) continue;
      const due = t.n === 0 || now.getTime() >= t.last!.getTime() + RETRY_DELAYS_MS[Math.min(t.n - 1, RETRY_DELAYS_MS.length - 1)]!;
      if (!due) return;
      const result = await send({ url: sub.url, secrets, id: e.id, body: payload(e, now), at: now, allowPrivate: opts.allowPrivate });
      sent++;
      const attempt: AttemptDoc = {
        _id: `${id}:${t.n + 1}`,
        delivery: id,
        subscription: sub._id,
        event: e.id,
        type: e.type,
        groupId: e.groupId,
        externalId: e.externalId,
        n: t.n + 1,
        at: now,
        ...(result.statusCode !== undefined ? { statusCode: result.statusCode } : {}),
        ...(result.error !== undefined ? { error: result.error } : {}),
        durationMs: result.durationMs,
        ok: result.ok,
      };
      unsaved.push(attempt);
      if (unsaved.length >= ATTEMPTS_PER_INSERT) await save();
      if (isAfter(e.after, furthest)) furthest = e.after;
      tried.set(id, { n: t.n + 1, ok: result.ok, first: t.first ?? now, last: now });
      opts.metrics?.webhookDeliveries.inc({ outcome: result.ok ? 'delivered' : result.statusCode === 410 ? 'gone' : result.statusCode !== undefined ? 'rejected' : 'error' });
      if (result.statusCode === 410) gone = result;
      if (!result.ok) {
        lastFailure = result;
        return;
      }
      delivered++;
    }
  });
  await save();

  if (gone) {
    await setDeliveryState(sub._id, 'disabled', 'the receiver answered 410 Gone');
    return { delivered, sent, more: false };
  }
  // The position moves past every event up to the first one not delivered.
  let position: LogPosition = next;
  let oldestFailing: Date | undefined;
  for (const e of read) {
    if (!wanted.has(e.type)) continue;
    const t = tried.get(deliveryId(sub._id, e.id))!;
    if (!t.ok) {
      position = positionBefore(read, e, from);
      oldestFailing = t.first;
      break;
    }
  }
  if (!samePosition(position, from) || !samePosition(furthest, attempted)) {
    await progress().updateOne({ _id: sub._id }, { $set: { position, attempted: furthest, at: now } }, { upsert: true });
  }
  if (oldestFailing && now.getTime() - oldestFailing.getTime() >= DISABLE_AFTER_MS) {
    await setDeliveryState(sub._id, 'disabled', `deliveries failed for 3 days${lastFailure ? ` (last: ${describe(lastFailure)})` : ''}`);
  } else if (lastFailure) {
    await setDeliveryState(sub._id, 'failing', `the last delivery ${describe(lastFailure)}`);
  } else if (sub.state === 'failing' && delivered > 0) {
    await setDeliveryState(sub._id, 'active');
  }
  const moved = position.seq !== from.seq || position.skip !== from.skip;
  return { delivered, sent, more: moved && read.length >= WINDOW };
}

const samePosition = (a: LogPosition, b: LogPosition) => a.seq === b.seq && a.skip === b.skip;
/** Whether `a` is further on in the log than `b` (positions are canonical: a whole entry read is `skip: 0` at its number). */
const isAfter = (a: LogPosition, b: LogPosition) => a.seq > b.seq || (a.seq === b.seq && a.skip > b.skip);

/** The position just before `e`: after the event read before it, or where the pass started. */
function positionBefore(read: readonly ChangeEvent[], e: ChangeEvent, from: LogPosition): LogPosition {
  const i = read.indexOf(e);
  return i > 0 ? read[i - 1]!.after : from;
}

/**
 * Sends one delivery again now, by hand, whatever its schedule or the subscription's state; waits for the worker
 * delivering the subscription, if any, so that the two never send it at once. Returns the delivery with the new attempt.
 */
export async function retryDelivery(subscriptionId: string, id: string, opts: DeliveryOptions): Promise<DeliveryView> {
  const sub = await webhooks().findOne({ _id: subscriptionId });
  if (!sub) throw new NotFoundError(`No webhook ${subscriptionId}.`);
  return withLocks(
    [deliveryLockKey(subscriptionId)],
    async () => {
      const list = await attempts().find({ delivery: id, subscription: subscriptionId }).toArray();
      if (list.length === 0) throw new NotFoundError(`No delivery ${id} of webhook ${subscriptionId}.`);
      const entry = await history().findOne({ _id: list[0]!.event });
      if (!entry) throw new NotFoundError(`The event of delivery ${id} is no longer kept (its group was deleted).`);
      const now = (opts.now ?? (() => new Date()))();
      const event = toEvent(entry, { seq: 0, skip: 0 });
      const result = await send({ url: sub.url, secrets: signingSecrets(sub, now), id: event.id, body: payload(event, now), at: now, allowPrivate: opts.allowPrivate });
      const n = Math.max(...list.map((a) => a.n)) + 1;
      const attempt: AttemptDoc = {
        ...list[0]!,
        _id: `${id}:${n}`,
        n,
        at: now,
        durationMs: result.durationMs,
        ok: result.ok,
        manual: true,
      };
      delete attempt.statusCode;
      delete attempt.error;
      if (result.statusCode !== undefined) attempt.statusCode = result.statusCode;
      if (result.error !== undefined) attempt.error = result.error;
      await db().insertIgnoringDuplicates(attempts(), [attempt]);
      opts.metrics?.webhookDeliveries.inc({ outcome: result.ok ? 'delivered' : result.statusCode === 410 ? 'gone' : result.statusCode !== undefined ? 'rejected' : 'error' });
      return deliveryView([...list, attempt]);
    },
    { waitMs: 30_000 },
  );
}

/** Sends a `webhook.test` event to the subscription now (not recorded as a delivery); returns the receiver's answer. */
export async function sendTestEvent(subscriptionId: string, opts: DeliveryOptions): Promise<SendResult & { webhookId: string }> {
  const sub = await webhooks().findOne({ _id: subscriptionId });
  if (!sub) throw new NotFoundError(`No webhook ${subscriptionId}.`);
  const now = (opts.now ?? (() => new Date()))();
  const webhookId = `test_${randomUUID()}`;
  const body = JSON.stringify({ type: 'webhook.test', timestamp: now.toISOString(), data: { webhookId: sub._id, message: 'A test event from Autogroups: this subscription reaches its receiver.' } });
  const result = await send({ url: sub.url, secrets: signingSecrets(sub, now), id: webhookId, body, at: now, allowPrivate: opts.allowPrivate });
  opts.metrics?.webhookDeliveries.inc({ outcome: result.ok ? 'test_delivered' : 'test_failed' });
  return { ...result, webhookId };
}

interface DeliveryWorker {
  stop(): Promise<void>;
}

/**
 * The delivery loop of a worker process: every subscription not disabled gets passes, one at a time each, under its
 * lease; subscriptions go in parallel, so that one slow receiver delays only its own.
 */
export function startDeliveryWorker(opts: DeliveryOptions & { logger: Logger }): DeliveryWorker {
  let stopped = false;
  const running = new Map<string, Promise<void>>();
  const restUntil = new Map<string, number>();
  let lastPrune = 0;
  let timer: NodeJS.Timeout | undefined;
  // One pace for the worker's subscriptions together: they share the database and the event loop.
  const pacing = new DeliveryPacing(() => syncsRunning());

  const work = async (sub: WebhookDoc): Promise<void> => {
    try {
      for (;;) {
        const outcome = await withLocks([deliveryLockKey(sub._id)], async () => {
          // Read again under the lease: an admin may have disabled it, or another worker moved it on.
          const fresh = await webhooks().findOne({ _id: sub._id });
          return fresh && fresh.state !== 'disabled' ? deliverPass(fresh, opts) : null;
        }, { waitMs: LEASE_TRY_MS });
        if (!outcome) return;
        // A pass that had nothing to send (no new event, or only retries not yet due) rests a moment.
        if (outcome.sent === 0) restUntil.set(sub._id, Date.now() + REST_MS);
        if (!outcome.more || stopped) return;
        // While membership runs a sync, the next pass waits: see pacing.ts.
        const wait = await pacing.delayMs();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (stopped) return;
      }
    } catch (err) {
      if (!(err instanceof LeaseWaitTimeoutError)) opts.logger.warn({ err, webhook: sub._id }, 'webhook delivery pass failed; the next pass tries again');
    }
  };

  const tick = async (): Promise<void> => {
    if (stopped) return;
    try {
      const subs = await webhooks().find({ state: { $ne: 'disabled' } }).toArray();
      for (const sub of subs) {
        if (running.has(sub._id) || (restUntil.get(sub._id) ?? 0) > Date.now()) continue;
        const p = work(sub).finally(() => running.delete(sub._id));
        running.set(sub._id, p);
      }
      if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
        lastPrune = Date.now();
        await pruneLog();
      }
    } catch (err) {
      opts.logger.warn({ err }, 'webhook delivery: reading subscriptions failed; trying again');
    }
    if (!stopped) timer = setTimeout(() => void tick(), IDLE_POLL_MS);
  };
  timer = setTimeout(() => void tick(), 0);

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      // A pass waiting on a slow receiver is not waited for past a moment: what it sent without recording is sent
      // again by the next worker (at least once), and the stop stays within SHUTDOWN_TIMEOUT_MS.
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...running.values()]), new Promise((r) => (bound = setTimeout(r, STOP_WAIT_MS)))]);
      clearTimeout(bound);
    },
  };
}
