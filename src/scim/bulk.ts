// SCIM Bulk (RFC 7644 §3.7): many operations in one request, in order, with `bulkId` references
// ("bulkId:<id>" in a path or in data, such as a group's members) and `failOnErrors`. Entra's API-driven
// inbound provisioning (its HR feed) sends thousands of user creations at once, so a run of consecutive
// `POST /Users` operations goes to the directory's batch write (applyUserBatch: the same validation, outbox and
// reaction as POST /api/v1/users/batch, membership settled before the answer), not one write per user. Every other
// operation goes to the resource's own SCIM function.
import { applyUserBatch } from '../directory/user-batch.service.js';
import { checkUserRecord } from '../directory/user.schema.js';
import { loadFieldDefinitions } from '../directory/field-definitions.service.js';
import { usersCollection } from '../directory/user-store.js';
import type { WriteContext } from './write-context.js';
import { db } from '../platform/db/index.js';
import type { Scheduler } from '../jobs/scheduler.js';
import { asScimError, invalidSyntax, invalidValue, ScimError, scimErrorBody, uniqueness } from './scim-error.js';
import { getCI, isObject, type ScimObject } from './resource-shape.js';
import { chooseExternalId, creationBody, deleteScimUser, patchScimUser, replaceScimUser } from './users.scim.js';
import { createScimGroup, deleteScimGroup, patchScimGroup, replaceScimGroup } from './groups.scim.js';
import { scimPath, userLocation } from './user-mapping.js';
import { createScimUser } from './users.scim.js';
import { BULK_MAX_OPERATIONS } from './discovery.js';
import { URN } from './urns.js';

type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface BulkOperation {
  index: number;
  method: Method;
  bulkId?: string;
  path: string;
  data?: unknown;
  version?: string;
}

interface BulkResult {
  method: Method;
  bulkId?: string;
  location?: string;
  version?: string;
  status: string;
  response?: unknown;
}

interface BulkDeps {
  ctx: WriteContext;
  scheduler: Scheduler;
  baseUrl: string;
}

function readOperations(body: unknown): { operations: BulkOperation[]; failOnErrors?: number } {
  if (!isObject(body)) throw invalidSyntax('A Bulk body is a BulkRequest message: { "schemas": [...BulkRequest], "Operations": [...] }.');
  const ops = getCI(body, 'Operations');
  if (!Array.isArray(ops) || ops.length === 0) throw invalidSyntax('Operations must be a list of one or more operations.');
  if (ops.length > BULK_MAX_OPERATIONS) throw new ScimError(413, `A Bulk request holds at most ${BULK_MAX_OPERATIONS} operations; this one has ${ops.length}.`, 'tooMany');
  const failOnErrors = getCI(body, 'failOnErrors');
  if (failOnErrors !== undefined && failOnErrors !== null && (typeof failOnErrors !== 'number' || !Number.isInteger(failOnErrors) || failOnErrors < 1)) {
    throw invalidValue('failOnErrors must be a whole number of at least 1.');
  }
  const seen = new Set<string>();
  const operations = ops.map((raw, index): BulkOperation => {
    if (!isObject(raw)) throw invalidSyntax(`Operations[${index}] must be an object.`);
    const method = String(getCI(raw, 'method') ?? '').toUpperCase();
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) throw invalidSyntax(`Operations[${index}].method must be POST, PUT, PATCH or DELETE.`);
    const path = getCI(raw, 'path');
    if (typeof path !== 'string' || !path.startsWith('/')) throw invalidSyntax(`Operations[${index}].path must be a resource path such as /Users or /Users/{id}.`);
    const bulkId = getCI(raw, 'bulkId');
    if (method === 'POST' && (typeof bulkId !== 'string' || bulkId === '')) throw invalidSyntax(`Operations[${index}]: a POST needs a bulkId.`);
    if (typeof bulkId === 'string') {
      if (seen.has(bulkId)) throw invalidSyntax(`Operations[${index}].bulkId ${bulkId} is used twice.`);
      seen.add(bulkId);
    }
    const version = getCI(raw, 'version');
    return { index, method: method as Method, path, ...(typeof bulkId === 'string' ? { bulkId } : {}), data: getCI(raw, 'data'), ...(typeof version === 'string' ? { version } : {}) };
  });
  return { operations, ...(typeof failOnErrors === 'number' ? { failOnErrors } : {}) };
}

const BULK_REF = /^bulkId:(.+)$/;

/** `data` and `path` with every "bulkId:x" replaced by the id the operation x created. */
function resolveRefs<T>(value: T, ids: ReadonlyMap<string, string>): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const m = BULK_REF.exec(v);
      if (!m) return v;
      const id = ids.get(m[1]!);
      if (id === undefined) throw invalidValue(`bulkId ${m[1]} names no operation before this one that succeeded.`);
      return id;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

function resolvePathRefs(path: string, ids: ReadonlyMap<string, string>): string {
  return path.replace(/bulkId:([^/]+)/g, (_m, ref: string) => {
    const id = ids.get(ref);
    if (id === undefined) throw invalidValue(`bulkId ${ref} names no operation before this one that succeeded.`);
    return encodeURIComponent(id);
  });
}

const mentionsBulkId = (data: unknown): boolean => JSON.stringify(data ?? null).includes('"bulkId:');
const isUserCreation = (op: BulkOperation) => op.method === 'POST' && /^\/users\/?$/i.test(op.path) && !mentionsBulkId(op.data);

function failed(op: BulkOperation, err: ScimError): BulkResult {
  return { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}), status: String(err.status), response: scimErrorBody(err) };
}

export async function runBulk(body: unknown, deps: BulkDeps): Promise<ScimObject> {
  const { operations, failOnErrors } = readOperations(body);
  const results: BulkResult[] = [];
  const ids = new Map<string, string>();
  let errors = 0;
  const limitReached = () => failOnErrors !== undefined && errors >= failOnErrors;

  for (let i = 0; i < operations.length && !limitReached(); ) {
    if (isUserCreation(operations[i]!)) {
      let end = i;
      while (end < operations.length && isUserCreation(operations[end]!)) end++;
      const run = operations.slice(i, end);
      const outcome = await createUsers(run, deps, failOnErrors === undefined ? undefined : failOnErrors - errors);
      for (const r of outcome.results) {
        results.push(r.result);
        if (r.id !== undefined && r.op.bulkId) ids.set(r.op.bulkId, r.id);
        if (Number(r.result.status) >= 400) errors++;
      }
      i += outcome.results.length;
      continue;
    }
    const op = operations[i]!;
    try {
      const result = await runOne(op, ids, deps);
      results.push(result.result);
      if (result.id !== undefined && op.bulkId) ids.set(op.bulkId, result.id);
    } catch (err) {
      const scim = asScimError(err);
      if (!scim) throw err;
      results.push(failed(op, scim));
      errors++;
    }
    i++;
  }
  return { schemas: [URN.bulkResponse], Operations: results };
}

async function runOne(op: BulkOperation, ids: ReadonlyMap<string, string>, deps: BulkDeps): Promise<{ result: BulkResult; id?: string }> {
  const path = resolvePathRefs(op.path, ids);
  const data = resolveRefs(op.data, ids);
  const m = /^\/(users|groups)(?:\/([^/]+))?\/?$/i.exec(path);
  if (!m) throw new ScimError(404, `No SCIM resource at ${op.path}.`);
  const kind = m[1]!.toLowerCase() as 'users' | 'groups';
  const id = m[2] !== undefined ? decodeURIComponent(m[2]) : undefined;
  const base = { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}) };
  const ok = (status: number, resource?: ScimObject) => {
    const meta = resource?.meta as { location?: string; version?: string } | undefined;
    return { result: { ...base, ...(meta?.location ? { location: meta.location } : {}), ...(meta?.version ? { version: meta.version } : {}), status: String(status) }, ...(resource ? { id: String(resource.id) } : {}) };
  };
  if (op.method === 'POST') {
    if (id !== undefined) throw invalidSyntax(`POST goes to /${m[1]}, not to one resource.`);
    return ok(201, kind === 'users' ? await createScimUser(data, deps.ctx, deps.baseUrl) : await createScimGroup(data, deps.ctx.actor, deps.scheduler, deps.baseUrl));
  }
  if (id === undefined) throw invalidSyntax(`${op.method} goes to one resource: /${m[1]}/{id}.`);
  switch (op.method) {
    case 'PUT':
      return ok(200, kind === 'users' ? await replaceScimUser(id, data, op.version, deps.ctx, deps.baseUrl) : await replaceScimGroup(id, data, op.version, deps.ctx.actor, deps.scheduler, deps.baseUrl));
    case 'PATCH':
      if (kind === 'users') return ok(200, await patchScimUser(id, data, op.version, deps.ctx, deps.baseUrl));
      await patchScimGroup(id, data, op.version, deps.ctx.actor, deps.scheduler, deps.baseUrl);
      return { result: { ...base, location: `${deps.baseUrl}/Groups/${encodeURIComponent(id)}`, status: '204' } };
    default:
      if (kind === 'users') await deleteScimUser(id, op.version, deps.ctx, deps.baseUrl);
      else await deleteScimGroup(id, op.version, deps.baseUrl);
      return { result: { ...base, status: '204' } };
  }
}

interface RunResult {
  op: BulkOperation;
  result: BulkResult;
  id?: string;
}

/**
 * Consecutive user creations as one directory batch. What can be told before writing (a bad resource, a user that
 * exists, a duplicate in the run, a record the directory's schema refuses) fails on its own; `budget` (what failOnErrors leaves) stops the run at the
 * operation that uses it up, and only the operations before it are written. Errors the batch itself finds (an
 * email another user holds) are reported per operation after it.
 */
async function createUsers(run: BulkOperation[], deps: BulkDeps, budget: number | undefined): Promise<{ results: RunResult[] }> {
  const defs = await loadFieldDefinitions();
  const prepared: Array<{ op: BulkOperation; id?: string; record?: Record<string, unknown>; error?: ScimError }> = run.map((op) => {
    try {
      if (!isObject(op.data)) throw invalidValue('data must be a User.');
      return { op, id: chooseExternalId(op.data) };
    } catch (err) {
      const scim = asScimError(err);
      if (!scim) throw err;
      return { op, error: scim };
    }
  });
  // A POST of a user that exists is a 409: the batch below creates only (createOnly), deciding under the users'
  // locks. With failOnErrors, the existing ones must be known before writing (they count against the budget), so
  // they are read first, while the records are made.
  const existing =
    budget !== undefined
      ? db().readByIds(usersCollection(), prepared.flatMap((p) => (p.id ? [p.id] : [])), { projection: { _id: 1 } })
      : Promise.resolve(new Map<string, unknown>());
  existing.catch(() => undefined); // awaited below; this keeps a failure from being unhandled meanwhile
  for (const p of prepared) {
    if (p.error) continue;
    try {
      p.record = { externalId: p.id, ...creationBody(p.op.data as ScimObject, defs) };
      // With failOnErrors, each record is checked here with the directory's own schema, so that a bad one counts
      // before anything is written; without, the batch checks them (once) and its errors are reported below.
      if (budget !== undefined) {
        const { errors } = checkUserRecord(p.record, defs);
        if (errors.length) throw invalidValue(errors.map((f) => `${scimPath(f.path)}: ${f.message}`).join('; '));
      }
    } catch (err) {
      const scim = asScimError(err);
      if (!scim) throw err;
      p.error = scim;
    }
  }
  const stored = await existing;
  const claimed = new Set<string>();
  for (const p of prepared) {
    if (!p.id || p.error) continue;
    if (stored.has(p.id) || claimed.has(p.id)) p.error = uniqueness(`A user with id ${p.id} already exists.`);
    claimed.add(p.id);
  }
  let cut = prepared.length;
  if (budget !== undefined) {
    let seen = 0;
    for (let k = 0; k < prepared.length; k++) {
      if (prepared[k]!.error && ++seen >= budget) {
        cut = k + 1;
        break;
      }
    }
  }
  const taken = prepared.slice(0, cut);
  const toWrite = taken.filter((p) => !p.error);
  const batch = toWrite.length ? await applyUserBatch(toWrite.map((p) => p.record!), deps.ctx, { createOnly: true }) : { errors: [] };
  for (const e of batch.errors) {
    const p = 'index' in e ? toWrite[e.index] : undefined;
    if (!p) continue;
    if (e.errors.some((f) => f.path === 'externalId' && f.message === 'already exists')) {
      p.error = uniqueness(`A user with id ${p.id} already exists.`);
      continue;
    }
    const clash = e.errors.some((f) => f.path === 'email' && /already used|this email/.test(f.message));
    const detail = e.errors.map((f) => `${scimPath(f.path)}: ${f.message}`).join('; ');
    p.error = clash ? uniqueness(detail) : invalidValue(detail);
  }
  return {
    results: taken.map((p) =>
      p.error
        ? { op: p.op, result: failed(p.op, p.error) }
        : { op: p.op, id: p.id!, result: { method: 'POST', bulkId: p.op.bulkId!, location: userLocation(deps.baseUrl, p.id!), status: '201' } },
    ),
  };
}
