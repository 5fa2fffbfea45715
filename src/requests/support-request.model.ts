import mongoose, { Schema } from 'mongoose';

// A support request: someone asked support staff to set up an automated group. Its status moves through
// REQUEST_TRANSITIONS; each change is appended to `timeline` together with the state it produced.
//
// The embedded database rewrites a whole document on every update with no lock between read and write (FERRETDB.md), so two
// PATCHes at once could both pass a status check and one timeline entry be lost. Each change therefore first
// claims its revision by inserting `request_changes` `<id>:<revision>` (a chosen _id: exactly one winner), holding
// the entry and the state to set; only the winner then updates the request, from the revision it read. A change
// claimed by a process that stopped before updating is applied by the next reader (support-requests.service.ts).
export const REQUEST_STATUSES = ['open', 'in_progress', 'done', 'rejected'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/**
 * What a support desk does with a request. `open` and `in_progress` are working states that go back and forth
 * (taken up, handed back). Either can end as `done` (with the group it produced) or `rejected`. Ended requests
 * can be reopened: a done one goes back to `in_progress` (its group needs more work), a rejected one to `open`
 * (reconsidered, back in the queue). Staying in the same status is not a transition: a PATCH may add a note or
 * change the group or draft rule without moving.
 */
export const REQUEST_TRANSITIONS: Readonly<Record<RequestStatus, readonly RequestStatus[]>> = {
  open: ['in_progress', 'done', 'rejected'],
  in_progress: ['open', 'done', 'rejected'],
  done: ['in_progress'],
  rejected: ['open'],
};

export interface TimelineEntry {
  at: Date;
  actor: string;
  event: 'created' | 'changed';
  /** The status after the change. */
  status: RequestStatus;
  /** The status before, when the change moved it. */
  from?: RequestStatus;
  groupId?: string | null;
  note?: string;
  draftRule?: 'set' | 'cleared';
}

export interface SupportRequestDoc {
  _id: string;
  title: string;
  description: string;
  requestedBy: string;
  status: RequestStatus;
  /** The draft rule as JSON text: a draft may be any JSON (it is stored with its errors), which the embedded database cannot always store as a document (nested arrays). */
  draftRule?: string | null;
  draftRuleErrors?: Array<{ path: string; message: string }> | null;
  draftRuleWarnings?: Array<{ path: string; message: string }> | null;
  groupId?: string | null;
  revision: number;
  timeline: TimelineEntry[];
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

const supportRequestSchema = new Schema(
  {
    _id: { type: String, required: true },
    title: { type: String, required: true },
    description: { type: String, required: true },
    requestedBy: { type: String, required: true },
    status: { type: String, required: true, enum: REQUEST_STATUSES },
    draftRule: { type: String },
    draftRuleErrors: { type: Schema.Types.Mixed },
    draftRuleWarnings: { type: Schema.Types.Mixed },
    groupId: { type: String },
    revision: { type: Number, required: true },
    timeline: { type: [Schema.Types.Mixed], default: [] },
    createdBy: { type: String, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'support_requests', minimize: false },
);
supportRequestSchema.index({ status: 1 });

export const SupportRequestModel = mongoose.model('SupportRequest', supportRequestSchema);

/** A claimed change: `_id` `<requestId>:<revision>`; see the note at the top. */
export interface RequestChangeDoc {
  _id: string;
  requestId: string;
  revision: number;
  set: Record<string, unknown>;
  entry: TimelineEntry;
}

const requestChangeSchema = new Schema(
  {
    _id: { type: String, required: true },
    requestId: { type: String, required: true },
    revision: { type: Number, required: true },
    set: { type: Schema.Types.Mixed, required: true },
    entry: { type: Schema.Types.Mixed, required: true },
  },
  { versionKey: false, collection: 'request_changes', minimize: false },
);

export const RequestChangeModel = mongoose.model('RequestChange', requestChangeSchema);
