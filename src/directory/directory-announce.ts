// How a directory write announces what it stored: one publish per request, after the write, never failing the
// request (the change is stored; a listener's failure is logged for the operator).
import type { Logger } from '../platform/logger.js';
import { publishDirectoryChanges, type DirectoryChange } from './directory-events.js';

/** Who writes and where to log: what every directory write needs besides its input. */
export interface WriteContext {
  actor: string;
  logger: Logger;
}

export async function announce(ctx: WriteContext, changes: readonly DirectoryChange[]): Promise<void> {
  if (changes.length === 0) return;
  try {
    await publishDirectoryChanges(changes);
  } catch (err) {
    ctx.logger.error({ err, changes: changes.length, first: changes[0]?.externalId }, 'a directory change listener failed; the change is stored');
  }
}
