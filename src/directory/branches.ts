// The branches in use: the distinct `branch` values of the users, for the rule catalogue (GET /rules/facts lists
// them under the `user` fact's `$.branch` path). On MongoDB the { branch, _id } index answers `distinct` without
// reading the users; the embedded database reads every user for it. So the answer is kept per database for a short
// while (an admin building a rule sees a branch created seconds ago at the latest after BRANCHES_TTL_MS), one read
// at a time however many ask at once, and at most MAX_BRANCHES values are listed (the rest flagged as left out).
import { usersCollection } from './user-store.js';

const MAX_BRANCHES = 500;
const BRANCHES_TTL_MS = 30_000;

interface BranchesInUse {
  values: string[];
  /** More branches exist than are listed. */
  truncated: boolean;
}

const cache = new Map<string, { at: number; read: Promise<BranchesInUse> }>();

async function readBranches(): Promise<BranchesInUse> {
  const all = (await usersCollection().distinct('branch')).filter((b): b is string => typeof b === 'string' && b !== '');
  all.sort((a, b) => a.localeCompare(b));
  return { values: all.slice(0, MAX_BRANCHES), truncated: all.length > MAX_BRANCHES };
}

export async function branchesInUse(now = Date.now()): Promise<BranchesInUse> {
  const key = usersCollection().dbName;
  const hit = cache.get(key);
  if (hit && now - hit.at < BRANCHES_TTL_MS) return hit.read;
  const read = readBranches();
  cache.set(key, { at: now, read });
  // A failed read is not kept: the next request tries again.
  read.catch(() => cache.delete(key));
  return read;
}
