// Webhook subscriptions: create, read, change, rotate the secret, delete; and their state as deliveries go. The one
// writer of the `webhooks` collection: every write of a subscription here takes its lock first, so that an admin's
// edit and a worker's change of state never overwrite each other.
import { createHash, randomBytes } from 'node:crypto';
import { db, withLocks } from '../platform/db/index.js';
import { NotFoundError, ValidationError } from '../platform/errors.js';
import { pageQuery, toPage, type Page, type PageRequest } from '../platform/pagination.js';
import { changeLog, logBounds, logFloor, logId } from '../changes/change-log.js';
import type { EventType, LogPosition } from '../changes/change-events.js';
import { attempts, progress, webhooks, type AttemptDoc, type WebhookDoc, type WebhookState } from './webhook.model.js';
import { TargetRefusedError, checkTarget } from './target-address.js';

interface WebhookView {
  id: string;
  url: string;
  events: EventType[];
  groups?: string[];
  description?: string;
  state: WebhookState;
  stateReason?: string;
  /** While a rotated-out secret still signs: when it stops. */
  previousSecretExpiresAt?: string;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookInput {
  url: string;
  events: EventType[];
  groups?: string[];
  description?: string;
}

export interface WebhookPatch {
  url?: string;
  events?: EventType[];
  groups?: string[] | null;
  description?: string | null;
  /** `active` turns a failing or disabled subscription back on (deliveries go on from where they stopped); `disabled` stops it. */
  state?: 'active' | 'disabled';
}

const lockKey = (id: string) => `webhook:${id}`;

/** `whsec_` + base64 of 32 random bytes: the part after the prefix is the HMAC key (Standard Webhooks). */
const newSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/** One event's deliveries to one subscription share this id (and its attempts are `<id>:<n>`). */
export const deliveryId = (subscription: string, event: string): string =>
  `dlv_${createHash('sha256').update(`${subscription}\n${event}`).digest('hex').slice(0, 24)}`;

export function view(doc: WebhookDoc, now = new Date()): WebhookView {
  const previous = doc.secrets.slice(1).find((s) => s.expiresAt && s.expiresAt > now);
  return {
    id: doc._id,
    url: doc.url,
    events: doc.events,
    ...(doc.groups ? { groups: doc.groups } : {}),
    ...(doc.description ? { description: doc.description } : {}),
    state: doc.state,
    ...(doc.stateReason ? { stateReason: doc.stateReason } : {}),
    ...(previous?.expiresAt ? { previousSecretExpiresAt: previous.expiresAt.toISOString() } : {}),
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}

/** The secrets that sign now: the current one, and a rotated-out one during its grace period. */
export function signingSecrets(doc: WebhookDoc, now = new Date()): string[] {
  return doc.secrets.filter((s, i) => i === 0 || (s.expiresAt !== undefined && s.expiresAt > now)).map((s) => s.value);
}

async function checkUrl(url: string, allowPrivate: boolean): Promise<void> {
  try {
    await checkTarget(url, allowPrivate);
  } catch (err) {
    if (err instanceof TargetRefusedError) throw new ValidationError('The webhook URL may not be used.', [{ path: 'url', message: err.message }]);
    throw err;
  }
}

async function stored(id: string): Promise<WebhookDoc> {
  const doc = await webhooks().findOne({ _id: id });
  if (!doc) throw new NotFoundError(`No webhook ${id}.`);
  return doc;
}

export async function createWebhook(input: WebhookInput, allowPrivate: boolean): Promise<WebhookView & { secret: string }> {
  await checkUrl(input.url, allowPrivate);
  const now = new Date();
  const { head } = await logBounds();
  const secret = newSecret();
  const doc: WebhookDoc = {
    _id: `wh_${randomBytes(8).toString('hex')}`,
    url: input.url,
    events: [...new Set(input.events)],
    ...(input.groups?.length ? { groups: [...new Set(input.groups)] } : {}),
    ...(input.description ? { description: input.description } : {}),
    secrets: [{ value: secret, createdAt: now }],
    state: 'active',
    startAfter: { seq: head, skip: 0 },
    createdAt: now,
    updatedAt: now,
  };
  await webhooks().insertOne(doc);
  return { ...view(doc), secret };
}

/** Subscriptions by id (a page: the collection is small, so the embedded database's in-memory sort is cheap). */
export async function listWebhooks(page: PageRequest): Promise<Page<WebhookView>> {
  const docs = await webhooks().find(pageQuery(page, '_id') as never).sort({ _id: 1 }).limit(page.limit + 1).toArray();
  return toPage(docs.map((d) => view(d)), page.limit, (w) => w.id);
}

export async function getWebhook(id: string): Promise<WebhookView> {
  return view(await stored(id));
}

export async function updateWebhook(id: string, patch: WebhookPatch, allowPrivate: boolean): Promise<WebhookView> {
  if (patch.url !== undefined) await checkUrl(patch.url, allowPrivate);
  return withLocks([lockKey(id)], async () => {
    const doc = await stored(id);
    const next: WebhookDoc = { ...doc, updatedAt: new Date() };
    if (patch.url !== undefined) next.url = patch.url;
    if (patch.events !== undefined) next.events = [...new Set(patch.events)];
    if (patch.groups === null) delete next.groups;
    else if (patch.groups !== undefined) next.groups = [...new Set(patch.groups)];
    if (patch.description === null) delete next.description;
    else if (patch.description !== undefined) next.description = patch.description;
    if (patch.state === 'active') {
      next.state = 'active';
      delete next.stateReason;
    } else if (patch.state === 'disabled') {
      next.state = 'disabled';
      next.stateReason = 'disabled by an admin';
    }
    await webhooks().replaceOne({ _id: id }, next);
    return view(next);
  });
}

/** A new secret, returned once; the previous one goes on signing for `graceSeconds` (both sign meanwhile). */
export async function rotateSecret(id: string, graceSeconds: number): Promise<WebhookView & { secret: string }> {
  return withLocks([lockKey(id)], async () => {
    const doc = await stored(id);
    const now = new Date();
    const secret = newSecret();
    const previous = doc.secrets[0]!;
    const secrets = [{ value: secret, createdAt: now }, ...(graceSeconds > 0 ? [{ ...previous, expiresAt: new Date(now.getTime() + graceSeconds * 1000) }] : [])];
    const next = { ...doc, secrets, updatedAt: now };
    await webhooks().replaceOne({ _id: id }, next);
    return { ...view(next, now), secret };
  });
}

export async function deleteWebhook(id: string): Promise<void> {
  await withLocks([lockKey(id)], async () => {
    await stored(id);
    await webhooks().deleteOne({ _id: id });
    await Promise.all([progress().deleteOne({ _id: id }), attempts().deleteMany({ subscription: id })]);
  });
}

/**
 * A worker's change of state after delivering: `failing` or back to `active` (never over an admin's `disabled`), or
 * `disabled` with its reason. Returns whether the state changed.
 */
export async function setDeliveryState(id: string, state: WebhookState, reason?: string): Promise<boolean> {
  return withLocks([lockKey(id)], async () => {
    const doc = await webhooks().findOne({ _id: id });
    if (!doc || doc.state === 'disabled' || (doc.state === state && doc.stateReason === reason)) return false;
    const next: WebhookDoc = { ...doc, state, updatedAt: new Date() };
    if (reason) next.stateReason = reason;
    else delete next.stateReason;
    await webhooks().replaceOne({ _id: id }, next);
    return true;
  });
}

export interface DeliveryView {
  id: string;
  /** The event's id: the `webhook-id` of every attempt. */
  eventId: string;
  type: string;
  groupId: string;
  externalId: string;
  state: 'delivered' | 'failing';
  attempts: Array<{ at: string; statusCode?: number; error?: string; durationMs: number; manual?: boolean }>;
}

export function deliveryView(list: readonly AttemptDoc[]): DeliveryView {
  const sorted = [...list].sort((a, b) => a.n - b.n);
  const first = sorted[0]!;
  return {
    id: first.delivery,
    eventId: first.event,
    type: first.type,
    groupId: first.groupId,
    externalId: first.externalId,
    state: sorted.some((a) => a.ok) ? 'delivered' : 'failing',
    attempts: sorted.map((a) => ({
      at: a.at.toISOString(),
      ...(a.statusCode !== undefined ? { statusCode: a.statusCode } : {}),
      ...(a.error !== undefined ? { error: a.error } : {}),
      durationMs: a.durationMs,
      ...(a.manual ? { manual: true } : {}),
    })),
  };
}

/** Log entries one deliveries page looks back through at most (each names up to 5,000 events). */
const ENTRIES_PER_PAGE = 16;

/**
 * A subscription's deliveries that have had an attempt, newest event first: read backwards through the change log
 * from the furthest event attempted, looking up the attempts of those events only (a page costs about `limit`
 * lookups, however many deliveries the subscription has had). `after` is the previous page's place in the log.
 */
export async function listDeliveries(id: string, page: { limit: number; after?: string }): Promise<{ items: DeliveryView[]; nextCursor: string | null }> {
  const sub = await stored(id);
  const at = (await progress().findOne({ _id: id })) ?? undefined;
  let from: LogPosition = page.after !== undefined ? parsePosition(page.after) : (at?.attempted ?? at?.position ?? sub.startAfter);
  const floor = Math.max(await logFloor(), sub.startAfter.seq + 1);
  const groups = sub.groups ? new Set(sub.groups) : undefined;
  const types = new Set<string>(sub.events.map((e) => (e === 'membership.added' ? ':added' : ':removed')));
  const items: DeliveryView[] = [];
  let looked = 0;
  // Entry `from.seq + 1` has its first `from.skip` events before the place; entries at or below `from.seq` all theirs.
  while (items.length < page.limit && looked < ENTRIES_PER_PAGE) {
    const n = from.skip > 0 ? from.seq + 1 : from.seq;
    if (n < floor) return { items, nextCursor: null };
    const entry = await changeLog().findOne({ _id: logId(n) });
    looked++;
    const events = (entry?.events ?? []).slice(0, from.skip > 0 ? from.skip : undefined);
    const candidates = events
      .map((event, k) => ({ event, k }))
      .filter(({ event }) => (!groups || groups.has(event.slice(0, event.indexOf(':')))) && types.has(event.slice(event.lastIndexOf(':'))))
      .reverse();
    // From the newest down, a few more than the page needs at a time: most events of a window were attempted.
    let k = 0;
    while (k < candidates.length && items.length < page.limit) {
      const batch = candidates.slice(k, k + (page.limit - items.length) * 2);
      k += batch.length;
      const found = new Map<string, AttemptDoc[]>();
      for (const a of await db().readWhereIn(attempts(), 'delivery', batch.map((c) => deliveryId(id, c.event)))) found.set(a.delivery, [...(found.get(a.delivery) ?? []), a]);
      for (const c of batch) {
        const list = found.get(deliveryId(id, c.event));
        if (!list) continue;
        items.push(deliveryView(list));
        if (items.length === page.limit) {
          // The next page starts before this event.
          return { items, nextCursor: positionText({ seq: n - 1, skip: c.k }) };
        }
      }
    }
    from = { seq: n - 1, skip: 0 };
  }
  return { items, nextCursor: from.seq + (from.skip > 0 ? 1 : 0) >= floor ? positionText(from) : null };
}

const positionText = (p: LogPosition): string => `${p.seq}.${p.skip}`;
function parsePosition(text: string): LogPosition {
  const m = /^(\d{1,15})\.(\d{1,6})$/.exec(text);
  if (!m) throw new ValidationError('The cursor is not one this service issued.', [{ path: 'cursor', message: 'invalid cursor' }]);
  return { seq: Number(m[1]), skip: Number(m[2]) };
}
