// The directory's lock keys (withLocks, src/platform/db/locks.ts): users by externalId, field definitions and
// courses by their key.
export const userLock = (externalId: string): string => `user:${externalId}`;
export const fieldLock = (key: string): string => `field:${key}`;
export const courseLock = (code: string): string => `course:${code}`;
