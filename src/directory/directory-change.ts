// What a directory write announces (directory-events.ts) and the reaction journal stores (reaction-journal.ts).
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
 * Which publish this is: the reaction journal's entry and the instant of the write. A replay of the entry carries
 * the same, so a listener can write what the first delivery would have (deterministic ids and timestamps).
 */
export interface PublishMeta {
  id: string;
  at: Date;
  /**
   * The changed users as the writer stored them, when it knows them whole (a users batch): a listener runs under
   * the writer's user locks (directory-events.ts), so these are what a read would return, and it need not read
   * them again. Not journaled: a replay reads the users.
   */
  stored?: ReadonlyMap<string, UserDoc>;
  /**
   * A replay of a journaled write whose first reaction failed part-way: what that reaction stored (memberships
   * inserted or deleted before it failed) was never counted, so counts are read again rather than adjusted.
   */
  replay?: boolean;
}
