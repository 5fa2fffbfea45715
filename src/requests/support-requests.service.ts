// Support requests: created open, moved through REQUEST_TRANSITIONS by support staff, each change kept in the
// request's timeline with who made it and when. See support-request.model.ts for how a change is claimed.
import { randomBytes } from 'node:crypto';
import { isDuplicateKeyError } from '../platform/db/index.js';
import { ConflictError, NotFoundError, UnprocessableContentError, ValidationError } from '../platform/errors.js';
import { pageQuery, toPage, type Page, type PageRequest } from '../platform/pagination.js';
import { GroupModel } from '../groups/group.model.js';
import { validateRule, type RuleIssue } from '../rules/index.js';
import { ruleValidationContext } from '../groups/rule-check.js';
import {
  REQUEST_TRANSITIONS,
  RequestChangeModel,
  SupportRequestModel,
  type RequestChangeDoc,
  type RequestStatus,
  type SupportRequestDoc,
  type TimelineEntry,
} from './support-request.model.js';
import type { RequestInput, RequestPatch } from './support-requests.schema.js';

interface TimelineEntryView {
  at: string;
  actor: string;
  event: TimelineEntry['event'];
  status: RequestStatus;
  from?: RequestStatus;
  groupId?: string | null;
  note?: string;
  draftRule?: 'set' | 'cleared';
}

interface SupportRequestView {
  id: string;
  title: string;
  description: string;
  requestedBy: string;
  status: RequestStatus;
  draftRule?: unknown;
  draftRuleErrors?: RuleIssue[];
  draftRuleWarnings?: RuleIssue[];
  groupId?: string;
  timeline: TimelineEntryView[];
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

function entryView(e: TimelineEntry): TimelineEntryView {
  return {
    at: new Date(e.at).toISOString(),
    actor: e.actor,
    event: e.event,
    status: e.status,
    ...(e.from ? { from: e.from } : {}),
    ...(e.groupId !== undefined ? { groupId: e.groupId } : {}),
    ...(e.note ? { note: e.note } : {}),
    ...(e.draftRule ? { draftRule: e.draftRule } : {}),
  };
}

function requestView(doc: SupportRequestDoc): SupportRequestView {
  const hasDraft = typeof doc.draftRule === 'string';
  return {
    id: doc._id,
    title: doc.title,
    description: doc.description,
    requestedBy: doc.requestedBy,
    status: doc.status,
    ...(hasDraft ? { draftRule: JSON.parse(doc.draftRule!) as unknown, draftRuleErrors: doc.draftRuleErrors ?? [] } : {}),
    ...(hasDraft && doc.draftRuleWarnings?.length ? { draftRuleWarnings: doc.draftRuleWarnings } : {}),
    ...(doc.groupId ? { groupId: doc.groupId } : {}),
    timeline: (doc.timeline ?? []).map(entryView),
    createdBy: doc.createdBy,
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}

/** The stored fields of a draft rule, checked as POST /rules/validate checks a rule. */
async function draftFields(rule: unknown): Promise<Pick<SupportRequestDoc, 'draftRule' | 'draftRuleErrors' | 'draftRuleWarnings'>> {
  const result = validateRule(rule, (await ruleValidationContext()).ctx);
  return { draftRule: JSON.stringify(rule), draftRuleErrors: result.errors, draftRuleWarnings: result.warnings };
}

const newRequestId = (now: Date) => `req_${now.getTime().toString(16).padStart(12, '0')}${randomBytes(4).toString('hex')}`;

export async function createRequest(input: RequestInput, actor: string, now = new Date()): Promise<SupportRequestView> {
  const draft = input.draftRule === undefined || input.draftRule === null ? undefined : await draftFields(input.draftRule);
  const doc: SupportRequestDoc = {
    _id: newRequestId(now),
    title: input.title,
    description: input.description,
    requestedBy: input.requestedBy,
    status: 'open',
    ...draft,
    revision: 1,
    timeline: [{ at: now, actor, event: 'created', status: 'open', ...(draft ? { draftRule: 'set' as const } : {}) }],
    createdBy: actor,
    createdAt: now,
    updatedAt: now,
  };
  await SupportRequestModel.collection.insertOne(doc as never);
  return requestView(doc);
}

async function applyChange(change: Pick<RequestChangeDoc, 'requestId' | 'revision' | 'set' | 'entry'>): Promise<void> {
  // From the revision before it only: applied twice (by its maker and by a reader that found it pending), it lands once.
  await SupportRequestModel.collection.updateOne(
    { _id: change.requestId as never, revision: change.revision - 1 },
    { $set: { ...change.set, revision: change.revision }, $push: { timeline: change.entry } as never },
  );
}

/** The request as of every change claimed for it, applying any a stopped process claimed but did not apply. */
async function currentRequest(id: string): Promise<SupportRequestDoc> {
  for (;;) {
    const doc = await SupportRequestModel.findById(id).lean<SupportRequestDoc>();
    if (!doc) throw new NotFoundError(`No support request with id ${id}.`);
    const pending = await RequestChangeModel.findById(`${id}:${doc.revision + 1}`).lean<RequestChangeDoc>();
    if (!pending) return doc;
    await applyChange(pending);
  }
}

export async function getRequest(id: string): Promise<SupportRequestView> {
  return requestView(await currentRequest(id));
}

/** Oldest first (a queue); `status` narrows it. A change claimed but not applied shows once the request is read by id. */
export async function listRequests(page: PageRequest, filters: { status?: RequestStatus }): Promise<Page<SupportRequestView>> {
  const filter: Record<string, unknown> = { ...pageQuery(page, '_id') };
  if (filters.status) filter.status = filters.status;
  const docs = await SupportRequestModel.find(filter).sort({ _id: 1 }).limit(page.limit + 1).lean<SupportRequestDoc[]>();
  return toPage(docs.map(requestView), page.limit, (r) => r.id);
}

async function requireExistingGroup(groupId: string, detail: string): Promise<void> {
  if (!(await GroupModel.exists({ _id: groupId }))) {
    throw new UnprocessableContentError(detail, [{ path: 'groupId', message: `no group has the id ${groupId}` }]);
  }
}

/** What a PATCH changes in a request as it stands, or undefined when it changes nothing. Throws when it may not. */
async function planChange(doc: SupportRequestDoc, patch: RequestPatch, actor: string, now: Date): Promise<Pick<RequestChangeDoc, 'set' | 'entry'> | undefined> {
  const from = doc.status;
  const to = patch.status ?? from;
  if (to !== from && !REQUEST_TRANSITIONS[from].includes(to)) {
    const allowed = REQUEST_TRANSITIONS[from];
    throw new ConflictError(`A request that is ${from} cannot become ${to}; it can become ${allowed.join(' or ')}.`, [
      { path: 'status', message: `cannot move from ${from} to ${to}` },
    ]);
  }
  const groupId = patch.groupId !== undefined ? patch.groupId : (doc.groupId ?? null);
  if (to === 'done' && !groupId) {
    throw new ValidationError('A request is done with the group it produced: name it in groupId.', [
      { path: 'groupId', message: patch.groupId === null ? 'cannot be removed while the request is done' : 'is required when the status is done' },
    ]);
  }
  if (patch.groupId) await requireExistingGroup(patch.groupId, `No group has the id ${patch.groupId}.`);
  else if (to === 'done' && from !== 'done') await requireExistingGroup(groupId!, `The request's group ${groupId} no longer exists: name the group the request produced in groupId.`);

  const set: Record<string, unknown> = {};
  const entry: TimelineEntry = { at: now, actor, event: 'changed', status: to };
  if (to !== from) {
    set.status = to;
    entry.from = from;
  }
  if (groupId !== (doc.groupId ?? null) || (to === 'done' && from !== 'done')) {
    set.groupId = groupId;
    entry.groupId = groupId;
  }
  if (patch.draftRule === null && typeof doc.draftRule === 'string') {
    Object.assign(set, { draftRule: null, draftRuleErrors: null, draftRuleWarnings: null });
    entry.draftRule = 'cleared';
  } else if (patch.draftRule !== undefined && patch.draftRule !== null && JSON.stringify(patch.draftRule) !== doc.draftRule) {
    Object.assign(set, await draftFields(patch.draftRule));
    entry.draftRule = 'set';
  }
  if (patch.note) entry.note = patch.note;
  if (!Object.keys(set).length && !entry.note) return undefined;
  set.updatedAt = now;
  return { set, entry };
}

const MAX_ATTEMPTS = 5;

/**
 * Applies a PATCH. Its change claims the request's next revision; when another change claimed it first, the
 * PATCH is planned again against the request as that change left it (a status move that is no longer allowed
 * then answers 409), a few times at most.
 */
export async function updateRequest(id: string, patch: RequestPatch, actor: string): Promise<SupportRequestView> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const doc = await currentRequest(id);
    const change = await planChange(doc, patch, actor, new Date());
    if (!change) return requestView(doc);
    const claimed = { _id: `${id}:${doc.revision + 1}`, requestId: id, revision: doc.revision + 1, ...change };
    try {
      await RequestChangeModel.collection.insertOne(claimed as never);
    } catch (err) {
      if (isDuplicateKeyError(err)) continue;
      throw err;
    }
    await applyChange(claimed);
    return requestView(await currentRequest(id));
  }
  throw new ConflictError('The request kept changing while this change was being made; read it again and retry.');
}
