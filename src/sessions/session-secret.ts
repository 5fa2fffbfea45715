// The key sessions are signed with. SESSION_SECRET when set; otherwise one generated once and kept in the
// database (collection `settings`), so that every process serving that database (ROLE=api replicas, a restart)
// signs and accepts the same cookies. Generating it is a race between processes that the first insert wins:
// inserting a chosen _id is the one mutual exclusion the embedded database honours, and the losers read the winner's.
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import type { Db } from 'mongodb';
import { isDuplicateKeyError } from '../platform/db/index.js';

const SECRET_ID = 'session-secret';
const cached = new WeakMap<Db, Promise<Buffer>>();

async function loadOrCreate(db: Db): Promise<Buffer> {
  const settings = db.collection<{ _id: string; value: string; createdAt: Date }>('settings');
  const found = await settings.findOne({ _id: SECRET_ID });
  if (found) return Buffer.from(found.value, 'base64url');
  try {
    const value = randomBytes(32).toString('base64url');
    await settings.insertOne({ _id: SECRET_ID, value, createdAt: new Date() });
    return Buffer.from(value, 'base64url');
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    const winner = await settings.findOne({ _id: SECRET_ID });
    if (!winner) throw err;
    return Buffer.from(winner.value, 'base64url');
  }
}

export function sessionSecret(configured: string | undefined): Promise<Buffer> {
  if (configured !== undefined) return Promise.resolve(Buffer.from(configured, 'utf8'));
  const db = mongoose.connection.db;
  if (!db) return Promise.reject(new Error('database not connected'));
  let secret = cached.get(db);
  if (!secret) {
    secret = loadOrCreate(db);
    secret.catch(() => cached.delete(db)); // a failed read is tried again by the next request
    cached.set(db, secret);
  }
  return secret;
}
