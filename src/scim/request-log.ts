// The last SCIM requests and how each ended, for the console's Provisioning page: an admin connecting Okta or
// Entra sees what the client sent and what it was told without reading the service's logs. Bounded: the log keeps
// about the newest KEEP entries. Each process trims after every TRIM_EVERY of its own writes, so the collection
// holds at most KEEP + TRIM_EVERY × processes entries; an entry's _id is its time (base 36, fixed width) and a
// random suffix, so ids sort by time and two processes never collide.
import { randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';
import mongoose, { Schema } from 'mongoose';
import type { Collection } from 'mongodb';
import type { Logger } from '../platform/logger.js';

export const KEEP = 500;
const TRIM_EVERY = 50;

const scimRequestSchema = new Schema(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
    method: { type: String, required: true },
    path: { type: String, required: true },
    status: { type: Number, required: true },
    scimType: { type: String },
    detail: { type: String },
    keyId: { type: String },
    keyName: { type: String },
    durationMs: { type: Number, required: true },
  },
  { versionKey: false, collection: 'scim_requests' },
);

interface ScimRequestDoc {
  _id: string;
  at: Date;
  method: string;
  path: string;
  status: number;
  scimType?: string;
  detail?: string;
  keyId?: string;
  keyName?: string;
  durationMs: number;
}

const ScimRequestModel = mongoose.model('ScimRequest', scimRequestSchema);
const requests = () => ScimRequestModel.collection as unknown as Collection<ScimRequestDoc>;

interface ScimRequestView {
  at: string;
  method: string;
  path: string;
  status: number;
  outcome: 'ok' | 'client error' | 'server error';
  scimType?: string;
  detail?: string;
  key?: { id: string; name: string };
  durationMs: number;
}

const entryId = (at: Date) => `${at.getTime().toString(36).padStart(10, '0')}-${randomBytes(6).toString('hex')}`;

let writesSinceTrim = 0;

async function trim(): Promise<void> {
  const [oldestKept] = await requests().find({}, { projection: { _id: 1 } }).sort({ _id: -1 }).skip(KEEP - 1).limit(1).toArray();
  if (oldestKept) await requests().deleteMany({ _id: { $lt: oldestKept._id } });
}

/** Records each request once it is answered; a failure to record is logged and never fails the request. */
export function scimRequestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const at = new Date();
    res.on('finish', () => {
      const error = res.locals.scimError as { scimType?: string; detail?: string } | undefined;
      const doc: ScimRequestDoc = {
        _id: entryId(at),
        at,
        method: req.method,
        // The path and query as sent (filters name the users looked up: the log is admins' only).
        path: req.originalUrl.slice(0, 500),
        status: res.statusCode,
        ...(error?.scimType ? { scimType: error.scimType } : {}),
        ...(error?.detail ? { detail: error.detail.slice(0, 500) } : {}),
        ...(req.principal ? { keyId: req.principal.keyId, keyName: req.principal.name } : {}),
        durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10,
      };
      void (async () => {
        await requests().insertOne(doc);
        if (++writesSinceTrim >= TRIM_EVERY) {
          writesSinceTrim = 0;
          await trim();
        }
      })().catch((err: unknown) => logger.warn({ err }, 'a SCIM request could not be recorded'));
    });
    next();
  };
}

export async function recentScimRequests(limit: number): Promise<ScimRequestView[]> {
  const docs = await requests().find({}).sort({ _id: -1 }).limit(limit).toArray();
  return docs.map((d) => ({
    at: d.at.toISOString(),
    method: d.method,
    path: d.path,
    status: d.status,
    outcome: d.status >= 500 ? 'server error' : d.status >= 400 ? 'client error' : 'ok',
    ...(d.scimType ? { scimType: d.scimType } : {}),
    ...(d.detail ? { detail: d.detail } : {}),
    ...(d.keyId ? { key: { id: d.keyId, name: d.keyName ?? '' } } : {}),
    durationMs: d.durationMs,
  }));
}
