// Group courses benchmark on the embedded database (FerretDB v1 over PostgreSQL): a group of 10,000 members
// (GROUP_COURSES_BENCH_MEMBERS) with 5 courses; the mass enrolment as its job runs it (runGroupEnrollment, in this
// process), a second enrolment with nothing left to do, and the unenrolment. Time, enrolments per second and peak
// RSS of this process. The enrolments go through the enrolment batch path (the outbox and the membership reaction
// included); the directory has no automatic group here, so the membership reaction to them is the cheap case.
//
// `npm run bench group-courses` runs it alone (and, like every `npm run bench`, rewrites bench/results.json with the
// figures of what ran); `node --import tsx bench/group-courses.bench.ts` prints them without writing.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/platform/logger.js';
import { start, type Service } from '../src/lifecycle.js';
import { startEmbeddedDb } from '../src/platform/db/embedded-db.js';
import { createApiKey } from '../src/keys/api-keys.service.js';
import { usersCollection } from '../src/directory/user-store.js';
import { addMemberships } from '../src/membership/membership-store.js';
import { runGroupEnrollment } from '../src/groups/group-courses.js';
import { freePort } from '../test/helpers/ports.js';
import { measured } from './membership.bench.js';
import { runWhenMain, type BenchResult } from './print.js';

const MEMBERS = Number(process.env.GROUP_COURSES_BENCH_MEMBERS ?? 10_000);
const COURSES = Array.from({ length: 5 }, (_, i) => `GC${i}`);

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-bench-group-courses-'));
  const embedded = await startEmbeddedDb({ dataDir: dir, port: await freePort() });
  const out: BenchResult[] = [];
  const label = `group courses: ${MEMBERS.toLocaleString('en-US')} members × ${COURSES.length} courses`;
  const logger = createLogger('silent');
  const config = loadConfig({ MONGODB_URI: embedded.uri, MONGODB_DB: 'bench_group_courses', PORT: '0', LOG_LEVEL: 'silent', ROLE: 'api' });
  const service: Service = await start(config, logger);
  try {
    const { key } = await createApiKey('bench', 'admin');
    const base = `http://127.0.0.1:${service.port}/api/v1`;
    const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    const call = async (method: string, url: string, body?: unknown) => {
      const res = await fetch(`${base}${url}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
      if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
      return res.status === 204 ? undefined : ((await res.json()) as Record<string, unknown>);
    };
    for (const c of COURSES) await call('PUT', `/courses/${c}`, { title: c });
    const group = (await call('POST', '/groups', { name: 'Bench bundle', type: 'manual', price: 99.5 }))!;
    const groupId = group.id as string;

    const now = new Date();
    for (let i = 0; i < MEMBERS; i += 2000) {
      const users = [];
      for (let j = i; j < Math.min(MEMBERS, i + 2000); j++) {
        const id = `m${String(j).padStart(7, '0')}`;
        users.push({ _id: id, email: `${id}@example.com`, emailLower: `${id}@example.com`, firstName: 'A', lastName: 'B', type: 'learner' as const, status: 'active' as const, fields: {}, enrollments: {}, createdAt: now, updatedAt: now });
      }
      await usersCollection().insertMany(users, { ordered: false });
      // Members before the courses are attached: nobody is enrolled on joining, the job does all of it.
      await addMemberships(users.map((u) => ({ groupId, externalId: u._id, ruleVersion: 0, source: 'manual' as const, reason: 'bench', actor: 'bench' })), { runKey: `bench:${i}`, at: now });
    }
    for (const c of COURSES) await call('PUT', `/groups/${groupId}/courses/${c}`);

    const opts = (at: Date) => ({ at, actor: 'bench', logger });
    const enroll = await measured(() => runGroupEnrollment(groupId, 'enroll', opts(new Date())));
    const total = MEMBERS * COURSES.length;
    if (enroll.value.enrolled !== total) throw new Error(`enrolled ${enroll.value.enrolled} of ${total}`);
    const again = await measured(() => runGroupEnrollment(groupId, 'enroll', opts(new Date())));
    if (again.value.enrolled !== 0) throw new Error(`second enrolment enrolled ${again.value.enrolled}`);
    const unenroll = await measured(() => runGroupEnrollment(groupId, 'unenroll', opts(new Date())));
    if (unenroll.value.removed !== total) throw new Error(`unenrolment removed ${unenroll.value.removed} of ${total}`);

    out.push(
      { name: `${label}: enrol`, value: enroll.ms / 1000, unit: 's' },
      { name: `${label}: enrol rate`, value: total / (enroll.ms / 1000), unit: 'enrolments/s' },
      { name: `${label}: enrol peak RSS`, value: enroll.peakRssMb, unit: 'MB' },
      { name: `${label}: enrol again (nothing to do)`, value: again.ms / 1000, unit: 's' },
      { name: `${label}: unenrol`, value: unenroll.ms / 1000, unit: 's' },
      { name: `${label}: unenrol peak RSS`, value: unenroll.peakRssMb, unit: 'MB' },
    );
  } finally {
    await service.stop();
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

await runWhenMain(import.meta.url, run);
