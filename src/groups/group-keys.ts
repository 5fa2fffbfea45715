// Group keys: making and rotating a group's key, and joining a group with it (POST /join). Memberships are written
// by the membership store, as every other source's are; this module decides only whether a key admits a user.
//
// Choices (README "Group keys"):
// - A new key (POST /groups/{id}/key, or a group created with `key`) is enabled and starts at 0 uses: its uses
//   are counted per key (`keyId`), so rotating is also how an admin hands out a fresh batch of `maxUses`.
// - A join is refused with 409 for a member (any source), an excluded user, or an inactive user of an automatic
//   group that does not include inactive users (as a hand addition is); 404 for an unknown user or key.
import { writeGroup } from './group-writes.js';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import { db } from '../platform/db/index.js';
import { ConflictError, GoneError, NotFoundError } from '../platform/errors.js';
import type { Metrics } from '../platform/metrics.js';
import { usersCollection } from '../directory/user-store.js';
import { membershipId, type MembershipDoc } from '../membership/membership.model.js';
import * as store from '../membership/membership-store.js';
import { exclusions, memberships } from '../membership/membership-store.js';
import { bumpCounts } from '../membership/group-state.js';
import { GroupModel, type GroupDoc, type GroupKeyConfig } from './group.model.js';
import { GroupKeyModel, GroupKeyUseModel, type GroupKeyDoc, type GroupKeyUseDoc } from './group-key.model.js';

const keys = (): Collection<GroupKeyDoc> => GroupKeyModel.collection as unknown as Collection<GroupKeyDoc>;
const uses = (): Collection<GroupKeyUseDoc> => GroupKeyUseModel.collection as unknown as Collection<GroupKeyUseDoc>;
const groups = (): Collection<GroupDoc> => GroupModel.collection as unknown as Collection<GroupDoc>;

/** 128 random bits (the contract asks for at least 80), URL-safe, prefixed so that a leaked one is recognisable. */
const newKeyValue = (): string => `gk_${randomBytes(16).toString('base64url')}`;
const keyHash = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

/**
 * Fresh key material for a group: its lookup document is stored before the group names it, so a key a client was
 * shown always resolves. Returns what to store on the group.
 */
export async function mintKey(groupId: string, config: { enabled: boolean; maxUses?: number }): Promise<GroupKeyConfig> {
  const value = newKeyValue();
  const id = randomUUID();
  await keys().insertOne({ _id: keyHash(value), group: groupId, keyId: id, createdAt: new Date() });
  return { enabled: config.enabled, ...(config.maxUses !== undefined ? { maxUses: config.maxUses } : {}), id, value };
}

/** Lookup documents of the group's keys other than `keepKeyId` (its rotated-away keys, or all of them). */
export async function dropKeys(groupId: string, keepKeyId?: string): Promise<void> {
  const filter: Record<string, unknown> = { group: groupId };
  if (keepKeyId) filter.keyId = { $ne: keepKeyId };
  await keys().deleteMany(filter);
}

/** A deleted group's keys and their uses. */
export async function forgetGroupKeys(groupId: string): Promise<void> {
  await Promise.all([keys().deleteMany({ group: groupId }), uses().deleteMany({ group: groupId })]);
}

/** How many times the group's current key has admitted someone. */
export async function keyUses(groupId: string, keyId: string | undefined): Promise<number> {
  if (!keyId) return 0;
  return uses().countDocuments({ group: groupId, keyId });
}

const slotId = (groupId: string, keyId: string, n: number) => `${groupId}:${keyId}:${n}`;

/**
 * Claims one use of the key for the user; false when none is left. Each use is an insert of a chosen `_id`: the
 * database admits exactly one writer per slot, so `maxUses` holds however many joins race. The search starts
 * after the uses already counted; a slot given back (see releaseUse) leaves a hole, found by a second pass.
 */
async function claimUse(groupId: string, keyId: string, maxUses: number | undefined, externalId: string, at: Date): Promise<string | undefined> {
  const doc = (n: number | string): GroupKeyUseDoc => ({ _id: typeof n === 'number' ? slotId(groupId, keyId, n) : `${groupId}:${keyId}:u:${n}`, group: groupId, keyId, externalId, at });
  if (maxUses === undefined) {
    const d = doc(externalId);
    return (await db().insertIgnoringDuplicates(uses(), [d])).size === 0 ? d._id : undefined;
  }
  const tryRange = async (from: number, to: number) => {
    for (let n = from; n <= to; n++) {
      const d = doc(n);
      if ((await db().insertIgnoringDuplicates(uses(), [d])).size === 0) return d._id;
    }
    return undefined;
  };
  const counted = await keyUses(groupId, keyId);
  const first = await tryRange(counted + 1, maxUses);
  if (first) return first;
  if ((await keyUses(groupId, keyId)) >= maxUses) return undefined;
  return tryRange(1, Math.min(counted, maxUses));
}

export interface KeyAnswer {
  key: string;
  maxUses?: number;
  uses: number;
}

/** POST /groups/{id}/key: a new key (the old one stops working now), enabled, `maxUses` as given or as it was. */
export async function rotateKey(group: GroupDoc, maxUses: number | undefined): Promise<KeyAnswer> {
  const limit = maxUses ?? group.key?.maxUses ?? undefined;
  const key = await mintKey(group._id, { enabled: true, ...(limit !== undefined && limit !== null ? { maxUses: limit } : {}) });
  await writeGroup(group, { $set: { key, updatedAt: new Date() } });
  await dropKeys(group._id, key.id);
  return { key: key.value!, ...(key.maxUses !== undefined ? { maxUses: key.maxUses } : {}), uses: 0 };
}

export interface JoinAnswer {
  externalId: string;
  source: 'key';
  addedAt: string;
}

/** POST /join. */
export async function joinWithKey(value: string, externalId: string, actor: string, metrics?: Metrics): Promise<JoinAnswer> {
  const unknownKey = () => new NotFoundError('No group has this key, or its key is disabled.');
  const found = await keys().findOne({ _id: keyHash(value) });
  if (!found) throw unknownKey();
  const group = await groups().findOne({ _id: found.group });
  // A rotated-away key still has its lookup document until rotation deletes it: the group's current key decides.
  if (!group?.key?.enabled || group.key.id !== found.keyId) throw unknownKey();
  const user = await usersCollection().findOne({ _id: externalId });
  if (!user) throw new NotFoundError(`No user with externalId ${externalId}.`, [{ path: 'externalId', message: `no user with externalId ${externalId}` }]);
  const id = membershipId(group._id, externalId);
  if (await memberships().findOne({ _id: id })) throw new ConflictError(`User ${externalId} is already a member of this group.`);
  if (await exclusions().findOne({ _id: id })) throw new ConflictError(`User ${externalId} is excluded from this group.`);
  if (group.type === 'automatic' && user.status !== 'active' && !group.includeInactive) {
    throw new ConflictError(`User ${externalId} is inactive and this group does not include inactive users.`);
  }
  const at = new Date();
  const slot = await claimUse(group._id, group.key.id, group.key.maxUses ?? undefined, externalId, at);
  if (!slot) throw new GoneError('This key has no uses left.');
  const created = await store.addMemberships(
    [{ groupId: group._id, externalId, source: 'key', ruleVersion: group.ruleVersion, reason: 'joined with the group key', actor }],
    { runKey: `key:${randomUUID()}`, at, ...(metrics ? { metrics } : {}) },
  );
  if (!created.get(group._id)) {
    // The same user joined (or was added) by another request meanwhile: that one counts, this use is given back.
    await db().deleteByIds(uses(), [slot]);
    throw new ConflictError(`User ${externalId} is already a member of this group.`);
  }
  await bumpCounts(new Map([[group._id, 1]]), at);
  const mine: Pick<MembershipDoc, 'externalId' | 'addedAt'> = { externalId, addedAt: at };
  return { externalId: mine.externalId, source: 'key', addedAt: mine.addedAt.toISOString() };
}
