// Webhook subscriptions, where each one's delivery stands, and every delivery attempt.
//
// Three collections with one writer each, so that no two processes rewrite one document at once (the embedded
// database loses one of two concurrent updates of a document): a subscription is written by webhooks.service.ts
// under the lock `webhook:<id>` (an admin's edit and a worker's change of state take it alike); its progress by the
// one worker that holds the delivery lease `webhook-delivery:<id>`; attempts are inserted, never updated.
import mongoose, { Schema } from 'mongoose';
import type { Collection } from 'mongodb';
import { declareIndex } from '../platform/db/index.js';
import type { EventType, LogPosition } from '../changes/change-events.js';

export const WEBHOOK_STATES = ['active', 'failing', 'disabled'] as const;
export type WebhookState = (typeof WEBHOOK_STATES)[number];

interface WebhookSecret {
  /** `whsec_` + base64 of 32 random bytes. */
  value: string;
  createdAt: Date;
  /** A rotated-out secret signs until then (the grace period), then is dropped. */
  expiresAt?: Date;
}

export interface WebhookDoc {
  _id: string;
  url: string;
  events: EventType[];
  /** Only these groups' changes; absent: every group. */
  groups?: string[];
  description?: string;
  /** The current secret first; a rotated-out one after it while its grace period lasts. */
  secrets: WebhookSecret[];
  state: WebhookState;
  /** Why it is failing or disabled. */
  stateReason?: string;
  /** Deliveries start after this place in the change log: where the log stood when the subscription was created. */
  startAfter: LogPosition;
  createdAt: Date;
  updatedAt: Date;
}

const position = new Schema({ seq: Number, skip: Number }, { _id: false });
const webhookSchema = new Schema(
  {
    _id: String,
    url: String,
    events: [String],
    groups: { type: [String], default: undefined },
    description: String,
    secrets: [new Schema({ value: String, createdAt: Date, expiresAt: Date }, { _id: false })],
    state: String,
    stateReason: String,
    startAfter: position,
    createdAt: Date,
    updatedAt: Date,
  },
  { versionKey: false, collection: 'webhooks' },
);
const WebhookModel = mongoose.model('Webhook', webhookSchema);
export const webhooks = (): Collection<WebhookDoc> => WebhookModel.collection as unknown as Collection<WebhookDoc>;

/** Where a subscription's delivery stands: every event before `position` is delivered (or not subscribed to). */
interface ProgressDoc {
  _id: string;
  position: LogPosition;
  /** Just after the furthest event attempted: events after it have no attempt to look up. */
  attempted?: LogPosition;
  at: Date;
}
const progressSchema = new Schema({ _id: String, position, attempted: position, at: Date }, { versionKey: false, collection: 'webhook_progress' });
const ProgressModel = mongoose.model('WebhookProgress', progressSchema);
export const progress = (): Collection<ProgressDoc> => ProgressModel.collection as unknown as Collection<ProgressDoc>;

/** One attempt to deliver one event to one subscription. `_id`: `<delivery>:<n>`, n counting from 1. */
export interface AttemptDoc {
  _id: string;
  /** The delivery: one event for one subscription (deliveryId). */
  delivery: string;
  subscription: string;
  /** The event's id (its webhook-id). */
  event: string;
  type: string;
  groupId: string;
  externalId: string;
  n: number;
  at: Date;
  /** The receiver's answer, when there was one. */
  statusCode?: number;
  /** Why there was no answer (timeout, refused address, connection error). */
  error?: string;
  durationMs: number;
  ok: boolean;
  /** Sent by hand (POST …/retry) rather than by the delivery workers. */
  manual?: boolean;
}
const attemptSchema = new Schema(
  {
    _id: String,
    delivery: String,
    subscription: String,
    event: String,
    type: String,
    groupId: String,
    externalId: String,
    n: Number,
    at: Date,
    statusCode: Number,
    error: String,
    durationMs: Number,
    ok: Boolean,
    manual: Boolean,
  },
  { versionKey: false, collection: 'webhook_attempts' },
);
const AttemptModel = mongoose.model('WebhookAttempt', attemptSchema);
export const attempts = (): Collection<AttemptDoc> => AttemptModel.collection as unknown as Collection<AttemptDoc>;

const asModel = (m: unknown) => m as mongoose.Model<never>;
declareIndex(asModel(AttemptModel), { delivery: 1 });
declareIndex(asModel(AttemptModel), { subscription: 1 });
