// The single place where changes to users and enrolments are announced, so that membership can react.
//
// Contract:
// - publish() is called only for real changes (a write that changes nothing publishes nothing), after the change
//   is stored, with every change of one request in one call (a batch of 10,000 is one publish).
// - publish() awaits every listener: when a write request answers, its consequences (membership) are applied.
//   A listener that throws never undoes the stored change: the caller (directory-announce.ts) journals every
//   publish and a job replays it, so listeners must be idempotent (they may hear a change again).
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
}

export type DirectoryListener = (changes: readonly DirectoryChange[], meta?: PublishMeta) => Promise<void>;

const listeners = new Set<DirectoryListener>();

export function subscribeDirectoryChanges(listener: DirectoryListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Whether anything listens: a replay of journaled changes with no listener wired would drop them unheard. */
export function hasDirectoryListeners(): boolean {
  return listeners.size > 0;
}

export async function publishDirectoryChanges(changes: readonly DirectoryChange[], meta?: PublishMeta): Promise<void> {
  if (changes.length === 0) return;
  const results = await Promise.allSettled([...listeners].map((l) => l(changes, meta)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
