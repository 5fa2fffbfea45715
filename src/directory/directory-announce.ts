// How a directory write announces what it stored: one publish per request, after the write, through the reaction
// journal (reaction-journal.ts), so that a reaction that fails is finished by a job rather than lost.
//
// A failed reaction does not fail the request. The write is stored and cannot be undone; its reaction is now
// journaled and owed by the replay job, the failure is logged at error level, counted
// (autogroups_directory_reaction_failures_total), and every group it may affect shows it in its `sync` object
// (`pendingUsers`, `lastError`) until the job has caught up. Answering 5xx instead would tell a client to retry a
// write that succeeded (the retry changes nothing and announces nothing, so it would not help), and 202 is not
// what the contract promises for PUT and batches. Only when the change could neither be journaled nor applied is
// the request failed: then nothing would be left to finish the work.
import type { Logger } from '../platform/logger.js';
import type { DirectoryChange } from './directory-events.js';
import { publishJournaled, type JournaledIntent } from './reaction-journal.js';

/** Who writes and where to log: what every directory write needs besides its input. */
export interface WriteContext {
  actor: string;
  logger: Logger;
}

/** `intent`: the write journaled its changes before writing (journalAhead); this finishes that entry. */
export async function announce(ctx: WriteContext, changes: readonly DirectoryChange[], intent?: JournaledIntent): Promise<void> {
  if (changes.length === 0 && !intent) return;
  const outcome = await publishJournaled(changes, intent);
  if (outcome.journalError) ctx.logger.warn({ err: outcome.journalError, changes: changes.length }, 'a directory change could not be journaled; its reactions ran');
  if (!outcome.complete) {
    ctx.logger.error(
      { err: outcome.error, changes: changes.length, first: changes[0]?.externalId },
      'a directory change listener failed; the change is stored and journaled, and a job replays its reactions',
    );
  }
}
