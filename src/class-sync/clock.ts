// The instant class group sync decides by: whether a course's sync has passed its `syncUntil`. A seam so that tests
// can move time five months on without waiting; nothing in the service changes it.
export const classSyncClock = { now: (): Date => new Date() };
