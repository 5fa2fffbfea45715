// What a directory write hands to the reactions that follow it (src/reactions.ts): its users' events (user-events.ts).
import type { UserDoc } from './user.model.js';

export type DirectoryChangeKind = 'user.created' | 'user.changed' | 'user.deleted';

export interface DirectoryChange {
  kind: DirectoryChangeKind;
  externalId: string;
  /** What changed, as paths: 'email', 'status', 'fields.department', 'enrollments.DRV-101'. Empty for created/deleted. */
  changed: string[];
  /** Who made the change: the API key (see actorOf) or a job. */
  actor: string;
}

/**
 * Which write this is: its id and instant (user-events.ts). A replay of the write carries the same, so a reaction
 * writes what the first one would have (deterministic ids and timestamps).
 */
export interface PublishMeta {
  id: string;
  at: Date;
  /**
   * The changed users as the writer stored them, when it knows them whole (a users batch): a reaction runs under
   * the writer's user locks (user-writes.ts), so these are what a read would return, and it need not read them
   * again. Not kept: a replay reads the users.
   */
  stored?: ReadonlyMap<string, UserDoc>;
  /**
   * A replay of an open write whose first reaction failed part-way: what that reaction stored (memberships
   * inserted or deleted before it failed) was never counted, so counts are read again rather than adjusted.
   */
  replay?: boolean;
}
