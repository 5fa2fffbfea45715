// The only reader of process.env. Every setting is checked here, once, at start; a bad value stops the start
// with a message naming the variable, so that a mistyped deployment fails loudly instead of half-working.
import Joi from 'joi';
import { CronExpressionParser } from 'cron-parser';
import { isTimeZone } from './rules/dates.js';

export type ProcessRole = 'all' | 'api' | 'worker';

export interface Config {
  readonly port: number;
  /** Unset: start the embedded database under dataDir. */
  readonly mongodbUri: string | undefined;
  readonly databaseName: string;
  readonly dataDir: string;
  readonly embeddedDbPort: number;
  readonly bootstrapAdminKey: string | undefined;
  readonly role: ProcessRole;
  readonly syncCron: string;
  /** IANA zone that calendar dates ('YYYY-MM-DD') in rules and facts are days in, and that SYNC_CRON runs in. */
  readonly timeZone: string;
  /** How often a worker brings the stored directory snapshot (what previews read) up to date. */
  readonly snapshotCron: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly shutdownTimeoutMs: number;
  /** How often a worker polls for due jobs. */
  readonly jobPollMs: number;
  /** How long a dead worker's job stays locked before another worker may take it over. */
  readonly jobLockLifetimeMs: number;
  /** Share of an automatic group's members one sync may remove before removals are held for confirmation. */
  readonly removalSafetyShare: number;
  /** Groups at or below this many members are exempt from the removal safety valve. */
  readonly removalSafetyMinMembers: number;
  /**
   * The key browser sessions are signed with (HMAC-SHA256). Unset: one is generated at the first sign-in and kept
   * in the database, so that every process serving the same database accepts the same sessions.
   */
  readonly sessionSecret: string | undefined;
  /** How long a session lasts from its sign-in, in seconds (never past its key's revocation). */
  readonly sessionTtlSeconds: number;
  /** `auto`: the session cookie is `Secure` when the request came over HTTPS; `true`/`false` force it. */
  readonly sessionCookieSecure: 'auto' | 'true' | 'false';
  /** Requests per minute per API key; 0: no limit. */
  readonly rateLimitPerMinute: number;
  /** Batches and CSV imports per minute per API key; 0: no limit. */
  readonly rateLimitBatchesPerMinute: number;
  /** Longest a request may take before it is answered 503 and its connection freed. */
  readonly requestTimeoutMs: number;
  /** Batches, imports and member copies one process runs at once; one more is answered 503 with Retry-After (platform/admission.ts). */
  readonly bulkRequestsInFlight: number;
  /** A members copy of more users than this runs as a job (202) rather than in the request. */
  readonly copyJobThreshold: number;
  /** A process that has not renewed its leases for this long is dead: others take its leases over. */
  readonly leaseTtlMs: number;
  /** Longest a write waits for a document another process is changing before it answers 503. */
  readonly leaseWaitMs: number;
  /** Webhooks may target private, loopback and link-local addresses, and http: URLs (development and tests only). */
  readonly webhooksAllowPrivateTargets: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const cron = Joi.string().custom((value: string, helpers) => {
  try {
    CronExpressionParser.parse(value);
    return value;
  } catch {
    return helpers.error('any.invalid');
  }
}, 'cron expression');

const timeZone = Joi.string().custom((value: string, helpers) => (isTimeZone(value) ? value : helpers.error('timezone.invalid')), 'IANA time zone');

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
/** `8h`, `30m`, `90s`, `1d`, or a number of seconds; between a minute and 30 days. */
const duration = Joi.string().custom((value: string, helpers) => {
  const m = /^(\d{1,7})([smhd]?)$/.exec(value.trim());
  const seconds = m ? Number(m[1]) * DURATION_UNITS[m[2] || 's']! : NaN;
  if (!(seconds >= 60 && seconds <= 30 * 86400)) return helpers.error('duration.invalid');
  return seconds;
}, 'duration');

const schema = Joi.object({
  PORT: Joi.number().integer().min(0).max(65535).default(3000),
  MONGODB_URI: Joi.string().uri({ scheme: ['mongodb', 'mongodb+srv'] }).empty(''),
  MONGODB_DB: Joi.string().pattern(/^[A-Za-z0-9_-]{1,63}$/).default('autogroups'),
  DATA_DIR: Joi.string().default('./data'),
  EMBEDDED_DB_PORT: Joi.number().integer().min(1).max(65535).default(27018),
  BOOTSTRAP_ADMIN_KEY: Joi.string().min(24).max(256).pattern(/^[\x21-\x7e]+$/).empty(''),
  ROLE: Joi.string().valid('all', 'api', 'worker').default('all'),
  SYNC_CRON: cron.default('0 2 * * *'),
  TIMEZONE: timeZone.default('UTC'),
  SNAPSHOT_CRON: cron.default('*/5 * * * *'),
  LOG_LEVEL: Joi.string().valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent').default('info'),
  SHUTDOWN_TIMEOUT_MS: Joi.number().integer().min(100).max(60000).default(8000),
  JOB_POLL_MS: Joi.number().integer().min(50).max(600000).default(1000),
  JOB_LOCK_LIFETIME_MS: Joi.number().integer().min(1000).max(3_600_000),
  REMOVAL_SAFETY_SHARE: Joi.number().greater(0).max(1).default(0.5),
  REMOVAL_SAFETY_MIN_MEMBERS: Joi.number().integer().min(0).default(10),
  SESSION_SECRET: Joi.string().min(32).max(512).empty(''),
  SESSION_TTL: duration.default(8 * 3600),
  SESSION_COOKIE_SECURE: Joi.string().valid('auto', 'true', 'false').default('auto'),
  RATE_LIMIT_PER_MINUTE: Joi.number().integer().min(0).default(12_000),
  RATE_LIMIT_BATCHES_PER_MINUTE: Joi.number().integer().min(0).default(600),
  REQUEST_TIMEOUT_MS: Joi.number().integer().min(100).max(3_600_000).default(120_000),
  BULK_REQUESTS_IN_FLIGHT: Joi.number().integer().min(1).max(1000).default(1),
  COPY_JOB_THRESHOLD: Joi.number().integer().min(0).max(1_000_000).default(2000),
  LEASE_TTL_MS: Joi.number().integer().min(300).max(600_000).default(10_000),
  LEASE_WAIT_MS: Joi.number().integer().min(100).max(600_000).default(30_000),
  WEBHOOKS_ALLOW_PRIVATE_TARGETS: Joi.boolean().truthy('true').falsy('false').default(false),
}).unknown(true);

/**
 * How long a job's lock lasts unless JOB_LOCK_LIFETIME_MS says otherwise: how long a job whose worker died waits
 * before another worker takes it over. A running job's lock is renewed three times per lifetime (scheduler.ts), so
 * a live job keeps it however long it runs. The same for every job, so that no job a killed worker held waits longer
 * than the others (the full sync's parent once kept Agenda's five-minute default); a hundred polling intervals (100 s
 * at the default 1 s) leaves a renewal delayed by a busy database a wide margin. Tests that kill workers set it short.
 */
function defaultJobLockLifetimeMs(pollMs: number): number {
  return Math.max(5_000, pollMs * 100);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const { value, error } = schema.validate(env, { abortEarly: false, convert: true });
  if (error) {
    throw new ConfigError(error.details.map((d) => `${String(d.path[0])}: ${describe(d)}`));
  }
  return Object.freeze({
    port: value.PORT,
    mongodbUri: value.MONGODB_URI,
    databaseName: value.MONGODB_DB,
    dataDir: value.DATA_DIR,
    embeddedDbPort: value.EMBEDDED_DB_PORT,
    bootstrapAdminKey: value.BOOTSTRAP_ADMIN_KEY,
    role: value.ROLE,
    syncCron: value.SYNC_CRON,
    timeZone: value.TIMEZONE,
    snapshotCron: value.SNAPSHOT_CRON,
    logLevel: value.LOG_LEVEL,
    shutdownTimeoutMs: value.SHUTDOWN_TIMEOUT_MS,
    jobPollMs: value.JOB_POLL_MS,
    jobLockLifetimeMs: value.JOB_LOCK_LIFETIME_MS ?? defaultJobLockLifetimeMs(value.JOB_POLL_MS),
    removalSafetyShare: value.REMOVAL_SAFETY_SHARE,
    removalSafetyMinMembers: value.REMOVAL_SAFETY_MIN_MEMBERS,
    sessionSecret: value.SESSION_SECRET,
    sessionTtlSeconds: value.SESSION_TTL,
    sessionCookieSecure: value.SESSION_COOKIE_SECURE,
    rateLimitPerMinute: value.RATE_LIMIT_PER_MINUTE,
    rateLimitBatchesPerMinute: value.RATE_LIMIT_BATCHES_PER_MINUTE,
    requestTimeoutMs: value.REQUEST_TIMEOUT_MS,
    bulkRequestsInFlight: value.BULK_REQUESTS_IN_FLIGHT,
    copyJobThreshold: value.COPY_JOB_THRESHOLD,
    leaseTtlMs: value.LEASE_TTL_MS,
    leaseWaitMs: value.LEASE_WAIT_MS,
    webhooksAllowPrivateTargets: value.WEBHOOKS_ALLOW_PRIVATE_TARGETS,
  });
}

function describe(detail: Joi.ValidationErrorItem): string {
  const got = detail.context?.value;
  const secret = detail.context?.key === 'BOOTSTRAP_ADMIN_KEY' || detail.context?.key === 'SESSION_SECRET';
  const shown = typeof got === 'string' && !secret ? ` (got "${got}")` : '';
  switch (detail.type) {
    case 'any.only':
      return `must be one of ${(detail.context?.valids as unknown[]).join(', ')}${shown}`;
    case 'any.invalid':
      return `is not a valid cron expression${shown}`;
    case 'timezone.invalid':
      return `is not an IANA time zone this Node knows, e.g. UTC or Europe/Lisbon${shown}`;
    case 'duration.invalid':
      return `must be a duration between 1 minute and 30 days, e.g. 8h, 30m or 3600 (seconds)${shown}`;
    default:
      return `${detail.message.replace(/^"[^"]+" /, '')}${shown}`;
  }
}
