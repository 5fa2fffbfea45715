// The slices in which a batch takes its users' leases (withLocks over userLock keys).
import { db, withLocks } from '../platform/db/index.js';
import { groupBy } from '../platform/group-by.js';
import { userLock } from './lock-keys.js';
import { usersCollection } from './user-store.js';
import type { WriteContext } from './user-writes.js';

/**
 * A batch takes its users' leases a slice at a time, so a single write of a user in a running batch (a PATCH, an
 * enrolment) waits for the user's slice, not for the whole batch: with every lease held for the batch, such a PATCH
 * waited the batch's whole 6-12 s (1,000 users, loaded machine) against 1.3-1.7 s for a user outside it, and that
 * wait was the load bench's PATCH p99. Each slice costs its own fixed round trips (leases, intents, the change log,
 * group counts), so slices hold at least MIN_USERS_PER_SLICE users, and a large batch is cut into at most
 * MAX_SLICES. A batch of more than ALWAYS_SLICED_UP_TO users that the embedded database reads by one scan of the
 * users (a large share of them) stays one slice (`whole`): in slices, each user would be looked up instead (10,000
 * of 10,000 users: 6.5 s became 23 s). Up to that size a batch is always sliced: its lookups cost about a second
 * at most, and whether it is sliced does not depend on the database's size estimate.
 */
export const MIN_USERS_PER_SLICE = 250;
export const MAX_SLICES = 8;
export const ALWAYS_SLICED_UP_TO = 2000;

/** `items` in slices of users (see above), each user's items in one slice, in order of first appearance. */
export function userSlices<T>(items: readonly T[], userOf: (item: T) => string, opts: { whole: boolean }): T[][] {
  if (opts.whole) return items.length ? [[...items]] : [];
  const byUser = groupBy(items, userOf);
  const usersPerSlice = Math.max(MIN_USERS_PER_SLICE, Math.ceil(byUser.size / MAX_SLICES));
  const slices: T[][] = [];
  let slice: T[] = [];
  let users = 0;
  for (const list of byUser.values()) {
    if (users === usersPerSlice) {
      slices.push(slice);
      slice = [];
      users = 0;
    }
    slice.push(...list);
    users++;
  }
  if (slice.length) slices.push(slice);
  return slices;
}

/**
 * Runs `work` on each slice of `items` in turn, under the slice's users' leases, with the context its writes take:
 * `moreFollow` while slices (or, from the caller, other writes of the request) are still to come. `whole`: one
 * slice whatever its size. Otherwise the database is asked whether reading the users is one scan (then one slice).
 */
export async function forEachLeasedSlice<T>(
  items: readonly T[],
  userOf: (item: T) => string,
  ctx: WriteContext,
  work: (slice: T[], ctx: WriteContext) => Promise<void>,
  opts: { whole?: boolean } = {},
): Promise<void> {
  const users = new Set(items.map(userOf)).size;
  const whole = opts.whole === true || (users > ALWAYS_SLICED_UP_TO && (await db().readsByScan(usersCollection(), users)));
  const slices = userSlices(items, userOf, { whole });
  for (const [i, slice] of slices.entries()) {
    const sliceCtx: WriteContext = { ...ctx, moreFollow: ctx.moreFollow === true || i < slices.length - 1 };
    await withLocks(slice.map((item) => userLock(userOf(item))), () => work(slice, sliceCtx));
  }
}
