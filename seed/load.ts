// `npm run seed`: loads the demo data set in seed/data/ into the configured database (the embedded one by
// default, or that of a running service), through the same schemas and services as the API, then runs a full
// sync and prints what each group holds. Idempotent: a second run changes nothing.
//
// Dates in the data set are relative to its "now" (2026-11-01); they are shifted to today so that rules such as
// "hired within the last 90 days" select the same people whenever it is loaded.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/platform/logger.js';
import { commandDatabase } from '../src/platform/command-database.js';
import { start } from '../src/lifecycle.js';
import { fieldDefinitionBodySchema } from '../src/directory/field-definition.schema.js';
import { courseBodySchema } from '../src/directory/course.schema.js';
import { putFieldDefinition } from '../src/directory/field-definitions.service.js';
import { putCourse } from '../src/directory/courses.service.js';
import { applyUserBatch } from '../src/directory/user-batch.service.js';
import { applyEnrollmentBatch } from '../src/directory/enrollment-batch.service.js';
import { createGroupSchema, type GroupInput } from '../src/groups/groups.schema.js';
import { createGroup, listGroups, startFullSync } from '../src/groups/groups.service.js';
import { getJobRun } from '../src/jobs/job-runs.service.js';
import { ConflictError } from '../src/platform/errors.js';

const DATA = path.join(path.dirname(fileURLToPath(import.meta.url)), 'data');
const DATASET_NOW = Date.UTC(2026, 10, 1);
const ACTOR = 'seed';

const read = async <T>(name: string): Promise<T> => JSON.parse(await readFile(path.join(DATA, name), 'utf8')) as T;

function valid<T>(schema: { validate(v: unknown): { value: T; error?: Error } }, value: unknown, what: string): T {
  const { value: out, error } = schema.validate(value);
  if (error) throw new Error(`seed data: ${what}: ${error.message}`);
  return out;
}

const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
const logger = createLogger(config.logLevel);
const target = await commandDatabase(config);
const service = await start({ ...config, mongodbUri: target.uri, role: 'all' }, logger);
const ctx = { actor: ACTOR, logger };
try {
  const shiftDays = Math.floor((Date.now() - DATASET_NOW) / 86_400_000);
  const shift = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + shiftDays * 86_400_000).toISOString().slice(0, 10);

  const fields = await read<Array<{ key: string } & Record<string, unknown>>>('fields.json');
  for (const { key, ...body } of fields) await putFieldDefinition(key, valid(fieldDefinitionBodySchema, body, `field ${key}`));
  const courses = await read<Array<{ code: string; title: string }>>('courses.json');
  for (const { code, ...body } of courses) await putCourse(code, valid(courseBodySchema, body, `course ${code}`));

  const users = (await read<Array<{ fields: Record<string, unknown> }>>('users.json')).map((u) => ({
    ...u,
    fields: { ...u.fields, ...(typeof u.fields.hireDate === 'string' ? { hireDate: shift(u.fields.hireDate) } : {}) },
  }));
  const userResult = await applyUserBatch(users, ctx);
  const enrollmentResult = await applyEnrollmentBatch(await read<unknown[]>('enrollments.json'), ctx);
  for (const [what, r] of [['users', userResult], ['enrolments', enrollmentResult]] as const) {
    console.log(`${what}: ${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged, ${r.failed} failed`);
    if (r.failed) console.log(JSON.stringify(r.errors.slice(0, 5), null, 2));
  }

  let createdGroups = 0;
  for (const g of await read<unknown[]>('groups.json')) {
    const input = valid<GroupInput>(createGroupSchema, g, `group ${(g as { name?: string }).name}`);
    try {
      await createGroup(input, ACTOR, service.scheduler);
      createdGroups++;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err; // already there from an earlier load
    }
  }
  console.log(`groups: ${createdGroups} created`);

  const jobId = await startFullSync(service.scheduler, { actor: ACTOR });
  for (;;) {
    const job = await getJobRun(jobId);
    if (job?.status === 'completed' || job?.status === 'failed') {
      if (job.status === 'failed') throw new Error(`full sync failed: ${job.error}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const page = await listGroups({ limit: 100 }, {});
  for (const g of page.items) console.log(`  ${g.name.padEnd(34)} ${String(g.memberCount).padStart(4)} members`);
} finally {
  await service.stop();
  await target.release();
}
