// FerretDB v1.24 keeps one pooled PostgreSQL connection per statement of an `update` command until the command
// returns, and never answers once its pool runs dry. So update commands are sent with at most
// EMBEDDED_MAX_UPDATES_PER_COMMAND statements, at most EMBEDDED_UPDATE_COMMANDS_IN_FLIGHT at a time in this
// process whoever sends them; the budget is sized with the pools in embedded-db.ts. MongoDB is indifferent to it.
import { EMBEDDED_UPDATE_COMMANDS_IN_FLIGHT } from './embedded-db.js';

let updateCommandsInFlight = 0;
const waitingForUpdateSlot: Array<() => void> = [];

export async function inUpdateSlot<T>(send: () => Promise<T>): Promise<T> {
  if (updateCommandsInFlight < EMBEDDED_UPDATE_COMMANDS_IN_FLIGHT) updateCommandsInFlight++;
  else await new Promise<void>((resolve) => waitingForUpdateSlot.push(resolve));
  try {
    return await send();
  } finally {
    // The slot passes straight to the next waiter, so the count never goes above the limit.
    const next = waitingForUpdateSlot.shift();
    if (next) next();
    else updateCommandsInFlight--;
  }
}
