import { createHash, randomBytes } from 'node:crypto';
import { ApiKeyModel, type ApiKeyDoc } from './api-key.model.js';
import type { Role } from '../platform/roles.js';
import { ConflictError, NotFoundError } from '../platform/errors.js';
import { SessionModel } from '../sessions/session.model.js';
import { pageQuery, toPage, type Page, type PageRequest } from '../platform/pagination.js';

interface ApiKeyView {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
}

const KEY_PREFIX = 'agk_';

function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function view(doc: ApiKeyDoc): ApiKeyView {
  return {
    id: doc.id,
    name: doc.name,
    role: doc.role as Role,
    prefix: doc.prefix,
    createdAt: doc.createdAt.toISOString(),
    lastUsedAt: doc.lastUsedAt ? doc.lastUsedAt.toISOString() : null,
  };
}

async function store(key: string, name: string, role: Role): Promise<ApiKeyView> {
  const hash = hashKey(key);
  const doc = await ApiKeyModel.create({ _id: hash, id: `key_${hash.slice(0, 16)}`, name, role, prefix: key.slice(0, 8) });
  return view(doc.toObject() as ApiKeyDoc);
}

/** Creates a key and returns it in clear, once; only its hash is kept. */
export async function createApiKey(name: string, role: Role): Promise<ApiKeyView & { key: string }> {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  return { ...(await store(key, name, role)), key };
}

/** BOOTSTRAP_ADMIN_KEY: create it as an admin key if no key with that hash exists. Idempotent. */
export async function ensureBootstrapKey(key: string): Promise<boolean> {
  if (await ApiKeyModel.exists({ _id: hashKey(key) })) return false;
  try {
    await store(key, 'bootstrap admin', 'admin');
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 11000) return false; // another process created it first
    throw err;
  }
}

export async function findKeyBySecret(key: string): Promise<ApiKeyView | null> {
  const doc = await ApiKeyModel.findById(hashKey(key)).lean<ApiKeyDoc>();
  return doc ? view(doc) : null;
}

/** A key by its id (not its secret): what a session re-reads on every request. */
export async function findKeyById(id: string): Promise<ApiKeyView | null> {
  const doc = await ApiKeyModel.findOne({ id }).lean<ApiKeyDoc>();
  return doc ? view(doc) : null;
}

export async function listApiKeys(page: PageRequest): Promise<Page<ApiKeyView>> {
  const docs = await ApiKeyModel.find(pageQuery(page, 'id')).sort({ id: 1 }).limit(page.limit + 1).lean<ApiKeyDoc[]>();
  return toPage(docs.map(view), page.limit, (k) => k.id);
}

export async function getApiKey(id: string): Promise<ApiKeyView> {
  const doc = await ApiKeyModel.findOne({ id }).lean<ApiKeyDoc>();
  if (!doc) throw new NotFoundError(`No API key with id ${id}.`);
  return view(doc);
}

/**
 * Revokes a key at once, and its browser sessions with it. The last admin key cannot be revoked: nobody could
 * manage keys after it.
 */
export async function revokeApiKey(id: string): Promise<void> {
  const doc = await ApiKeyModel.findOne({ id }).lean<ApiKeyDoc>();
  if (!doc) throw new NotFoundError(`No API key with id ${id}.`);
  if (doc.role === 'admin' && (await ApiKeyModel.countDocuments({ role: 'admin' })) <= 1) {
    throw new ConflictError('This is the last admin key; create another admin key before revoking it.');
  }
  await ApiKeyModel.deleteOne({ _id: doc._id });
  // Sessions re-read their key on every request and already fail without it; their records go too.
  await SessionModel.deleteMany({ keyId: id });
}
