// `npm run seed`: loads the demo data set in seed/data/ into the configured database (the embedded one by
// default, or that of a running service), through the same schemas and services as the API, then runs a full
// sync, turns on the class group sync of its university course, and prints what each group holds (a course's class
// groups after the global ones). Idempotent: a second run changes nothing.
//
// Dates in the data set are relative to its "now" (2026-11-01); they are shifted to today so that rules such as
// "hired within the last 90 days" select the same people whenever it is loaded.
//
// It stops what it started, in order: it waits for every job it queued (each new group's sync, the full sync and
// the snapshot rebuild that follows it) before it stops the scheduler, then closes the database, then stops the
// embedded database if it started one. Stopping earlier closed the database under running jobs.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../src/config.js';
import { createLogger, type Logger } from '../src/platform/logger.js';
import { commandDatabase } from '../src/platform/command-database.js';
import { start, type Service } from '../src/lifecycle.js';
import { fieldDefinitionBodySchema } from '../src/directory/field-definition.schema.js';
import { courseBodySchema } from '../src/directory/course.schema.js';
import { putFieldDefinition } from '../src/directory/field-definitions.service.js';
import { putCourse } from '../src/directory/courses.service.js';
import { applyUserBatch } from '../src/directory/user-batch.service.js';
import { applyEnrollmentBatch } from '../src/directory/enrollment-batch.service.js';
import type { BatchResult } from '../src/directory/batch-outcome.js';
import { createGroupSchema, type GroupInput } from '../src/groups/groups.schema.js';
import { createGroup, listGroups, requireGroup, startFullSync, type GroupView } from '../src/groups/groups.service.js';
import { addMember, listMembers } from '../src/membership/members.service.js';
import { getJobRun, type JobView } from '../src/jobs/job-runs.service.js';
import { classSyncBodySchema } from '../src/class-sync/class-sync.schema.js';
import { getClassSync, putClassSync } from '../src/class-sync/class-sync.service.js';
import { ConflictError } from '../src/platform/errors.js';
import { note, phase } from './progress.js';

const DATA = path.join(path.dirname(fileURLToPath(import.meta.url)), 'data');
const DATASET_NOW = Date.UTC(2026, 10, 1);
const ACTOR = 'seed';
/** Records per batch call: small enough that the count moves every second or so on the embedded database. */
const BATCH = 40;
const POLL_MS = 200;

/** A problem with the data set itself: reported as one line, without a stack. */
class SeedDataError extends Error {}

interface SeedUser {
  externalId: string;
  firstName: string;
  lastName: string;
  fields: Record<string, unknown>;
}
type SeedGroup = Record<string, unknown> & { name: string; members?: string[] };

const read = async <T>(name: string): Promise<T> => JSON.parse(await readFile(path.join(DATA, name), 'utf8')) as T;

function valid<T>(schema: { validate(v: unknown): { value: T; error?: Error } }, value: unknown, what: string): T {
  const { value: out, error } = schema.validate(value);
  if (error) throw new SeedDataError(`seed data: ${what}: ${error.message}`);
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Applies records batch by batch, showing the count; the results are summed. */
async function loadInBatches(name: string, records: readonly unknown[], apply: (batch: unknown[]) => Promise<BatchResult>): Promise<void> {
  const progress = phase(name, records.length);
  const sum = { created: 0, updated: 0, unchanged: 0, failed: 0 };
  const errors: BatchResult['errors'] = [];
  for (let i = 0; i < records.length; i += BATCH) {
    const r = await apply(records.slice(i, i + BATCH));
    sum.created += r.created;
    sum.updated += r.updated;
    sum.unchanged += r.unchanged;
    sum.failed += r.failed;
    errors.push(...r.errors.map((e) => ('index' in e ? { ...e, index: e.index + i } : e)));
    progress.advance(Math.min(i + BATCH, records.length));
  }
  progress.finish(`${sum.created} created, ${sum.updated} updated, ${sum.unchanged} unchanged, ${sum.failed} failed`);
  if (sum.failed) throw new SeedDataError(`seed data: ${sum.failed} ${name} refused: ${JSON.stringify(errors.slice(0, 5))}`);
}

async function jobsOrFail(ids: readonly string[], what: string): Promise<JobView[]> {
  const jobs = (await Promise.all(ids.map((id) => getJobRun(id)))).filter((j): j is JobView => j !== null);
  const failed = jobs.filter((j) => j.status === 'failed');
  if (failed.length) throw new Error(`${what}: ${failed.map((j) => `job ${j.id} failed: ${j.error}`).join('; ')}`);
  return jobs;
}

/** Waits until every one of these jobs has completed, counting them; fails if one failed. */
async function waitForJobs(name: string, ids: readonly string[]): Promise<void> {
  if (!ids.length) return;
  const progress = phase(name, ids.length);
  for (;;) {
    const completed = (await jobsOrFail(ids, name)).filter((j) => j.status === 'completed').length;
    if (completed === ids.length) return progress.finish();
    progress.advance(completed);
    await sleep(POLL_MS);
  }
}

/** Follows one job's own progress (e.g. users synced) until it has completed; fails if it failed. */
async function followJob(name: string, id: string, unit: string): Promise<void> {
  let progress: ReturnType<typeof phase> | undefined;
  for (;;) {
    const [job] = await jobsOrFail([id], name);
    // The total is known once the job has started; until then there is nothing to count.
    if (job && job.progress.total > 0) {
      progress ??= phase(name, job.progress.total);
      if (job.status === 'completed') return progress.finish(unit);
      progress.advance(job.progress.done);
    } else if (job?.status === 'completed') {
      return note(name, 'done');
    }
    await sleep(POLL_MS);
  }
}

async function load(service: Service, logger: Logger): Promise<void> {
  const ctx = { actor: ACTOR, logger };
  const shiftDays = Math.floor((Date.now() - DATASET_NOW) / 86_400_000);
  const shift = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + shiftDays * 86_400_000).toISOString().slice(0, 10);

  const fields = await read<Array<{ key: string } & Record<string, unknown>>>('fields.json');
  const fieldsPhase = phase('fields', fields.length);
  for (const [i, { key, ...body }] of fields.entries()) {
    await putFieldDefinition(key, valid(fieldDefinitionBodySchema, body, `field ${key}`));
    fieldsPhase.advance(i + 1);
  }
  fieldsPhase.finish();
  const courses = await read<Array<{ code: string; title: string }>>('courses.json');
  const coursesPhase = phase('courses', courses.length);
  for (const [i, { code, ...body }] of courses.entries()) {
    await putCourse(code, valid(courseBodySchema, body, `course ${code}`));
    coursesPhase.advance(i + 1);
  }
  coursesPhase.finish();

  const users = (await read<SeedUser[]>('users.json')).map((u) => ({
    ...u,
    fields: { ...u.fields, ...(typeof u.fields.hireDate === 'string' ? { hireDate: shift(u.fields.hireDate) } : {}) },
  }));
  await loadInBatches('users', users, (batch) => applyUserBatch(batch, ctx));
  await loadInBatches('enrolments', await read<unknown[]>('enrollments.json'), (batch) => applyEnrollmentBatch(batch, ctx));

  const groups = await read<SeedGroup[]>('groups.json');
  const groupsPhase = phase('groups', groups.length);
  const syncJobs: string[] = [];
  let created = 0;
  for (const [i, { members: _members, ...body }] of groups.entries()) {
    const input = valid<GroupInput>(createGroupSchema, body, `group ${body.name}`);
    try {
      const { jobId } = await createGroup(input, ACTOR, service.scheduler);
      created++;
      if (jobId) syncJobs.push(jobId);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err; // already there from an earlier load
    }
    groupsPhase.advance(i + 1);
  }
  groupsPhase.finish(`${created} created, ${groups.length - created} already there`);
  await waitForJobs('group syncs', syncJobs);

  // Members of manual groups, added by hand as an admin would (PUT /groups/{id}/members/{externalId}).
  const byName = new Map((await allGroups()).map((g) => [g.name, g.id]));
  const handPicked = groups.flatMap((g) => (g.members ?? []).map((externalId) => ({ group: g.name, externalId })));
  const membersPhase = phase('manual members', handPicked.length);
  let added = 0;
  for (const [i, { group, externalId }] of handPicked.entries()) {
    const id = byName.get(group);
    if (!id) throw new SeedDataError(`seed data: group ${group} is missing after the load`);
    if ((await addMember(await requireGroup(id), externalId, ACTOR)).created) added++;
    membersPhase.advance(i + 1);
  }
  membersPhase.finish(`${added} added, ${handPicked.length - added} already members`);

  const syncId = await startFullSync(service.scheduler, { actor: ACTOR });
  await followJob('sync', syncId, 'users');
  // The full sync queues the rebuild of the directory snapshot that previews read (sync-all.job.ts).
  await followJob('snapshot', `${syncId}:snapshot`, 'users and memberships');

  // Class group sync, where the data set turns it on, as PUT /courses/{code}/class-sync would. A course where it is
  // on already is left as it is: a PUT would change nothing but its timestamp, and its 5 months run from the first.
  const classSync = await read<Array<{ course: string } & Record<string, unknown>>>('class-sync.json');
  const classPhase = phase('class sync', classSync.length);
  const classJobs: string[] = [];
  for (const [i, { course, ...body }] of classSync.entries()) {
    const input = valid<{ enabled: boolean; endsAt?: string | null }>(classSyncBodySchema, body, `class sync of ${course}`);
    if ((await getClassSync(course, new Date())).enabled !== input.enabled) {
      const endsAt = input.endsAt === undefined ? {} : { endsAt: input.endsAt === null ? null : new Date(input.endsAt) };
      const { jobId } = await putClassSync(course, { enabled: input.enabled, ...endsAt }, ACTOR, service.scheduler, new Date());
      if (jobId) classJobs.push(jobId);
    }
    classPhase.advance(i + 1);
  }
  classPhase.finish(`${classJobs.length} turned on, ${classSync.length - classJobs.length} already as set`);
  await waitForJobs('class group syncs', classJobs);
}

async function allGroups(): Promise<GroupView[]> {
  return (await listGroups({ limit: 100 }, {})).items;
}

/** Each demo group: its kind, members, what it is for, and a few of its members by name. */
async function printSummary(users: readonly SeedUser[]): Promise<void> {
  const names = new Map(users.map((u) => [u.externalId, `${u.firstName} ${u.lastName}`]));
  const groups = await allGroups();
  console.log(`\n${groups.length} demo groups:`);
  // Global groups first, then each course's class groups (kept by its class group sync).
  const order = (g: GroupView) => `${g.course ?? ''}\u0000${g.name}`;
  let course: string | undefined;
  for (const g of groups.sort((a, b) => order(a).localeCompare(order(b)))) {
    if (g.course && g.course !== course) {
      course = g.course;
      console.log(`\n  class groups of course ${course} (class group sync):`);
    }
    const some = (await listMembers(g.id, { limit: 3 })).items.map((m) => names.get(m.externalId) ?? m.externalId);
    const count = `${g.memberCount} member${g.memberCount === 1 ? '' : 's'}`;
    console.log(`  ${g.name.padEnd(32)} ${g.type.padEnd(9)} ${count.padStart(11)}  ${g.description ?? ''}`);
    if (some.length) console.log(`  ${''.padEnd(32)} ${''.padEnd(9)} ${''.padStart(11)}  e.g. ${some.join(', ')}${g.memberCount > some.length ? ', …' : ''}`);
  }
}

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
  const logger = createLogger(config.logLevel);
  const target = await commandDatabase(config, (msg) => console.log(msg));
  note('database', `"${config.databaseName}" on ${target.where}`);
  try {
    const service = await start({ ...config, mongodbUri: target.uri, role: 'all' }, logger);
    try {
      await load(service, logger);
      await printSummary(await read<SeedUser[]>('users.json'));
    } finally {
      await service.stop();
    }
  } finally {
    await target.release();
  }
}

// Exit as soon as everything is stopped: Agenda leaves, for every job it ran, a timer of half the job's lock
// lifetime (its lock check, 50 s for the sync jobs) that nothing can cancel and that would keep the process up
// for that long with nothing left to do.
main().then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof ConfigError) console.error(`invalid configuration: ${err.problems.join('; ')}`);
    else console.error(err instanceof SeedDataError ? err.message : err);
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
