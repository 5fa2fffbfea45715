// What "now" is for decisions by the calendar that a test must be able to move without waiting months (whether a
// course's class sync has passed its end). One per process, made at start (StartOptions.clock) and handed to the
// routes, jobs and reactions that decide by it; nothing else reads a module-level clock.
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
