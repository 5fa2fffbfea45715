// Batch feeds into automatic groups, on the embedded database (FerretDB v1 over PostgreSQL), through HTTP and the
// real service: 20,000 new users, each with one enrolment, sent as an HR feed sends them (POST /users/batch, then
// POST /enrollments/batch, 1,000 records a call) while 40 automatic groups read their fields and enrolments. Each
// call answers after membership has followed it, so users per second is how fast a feed's users reach their groups.
// Afterwards every group's stored members are checked against its rule evaluated over the stored users.
//
// Where a batch's time goes: the driver's command monitoring counts every command the service sends, per call kind
// (users batch, enrolments batch), command and collection; the table printed after the run gives, per call, the
// commands and the time they took (commands in flight at once each count their own time).
//
// `npm run bench batch-membership` runs it alone; BENCH_BATCH_USERS makes a quicker run.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/platform/logger.js';
import { start } from '../src/lifecycle.js';
import { startEmbeddedDb } from '../src/platform/db/embedded-db.js';
import { createApiKey } from '../src/keys/api-keys.service.js';
import { usersCollection } from '../src/directory/user-store.js';
import { toUserFacts } from '../src/directory/user-facts.js';
import { GroupModel } from '../src/groups/group.model.js';
import { compileRule, type RuleDocument } from '../src/rules/index.js';
import mongoose from 'mongoose';
import type { CommandStartedEvent, CommandSucceededEvent, CommandFailedEvent } from 'mongodb';
import { freePort } from '../test/helpers/ports.js';
import { runWhenMain, type BenchResult } from './print.js';

const USERS = Number(process.env.BENCH_BATCH_USERS ?? 20_000);
const PER_CALL = 1000;
const GROUPS = 40;
const COURSES = Array.from({ length: 10 }, (_, i) => `BC${i}`);
const DEPARTMENTS = Array.from({ length: 8 }, (_, i) => `Dept${i}`);
const STATUSES = ['subscribed', 'in_progress', 'completed'] as const;

/** 40 rules: a department, a course's status, or both. */
function ruleFor(i: number): RuleDocument {
  const department = { fact: 'field', params: { key: 'department' }, operator: 'equal', value: DEPARTMENTS[i % DEPARTMENTS.length] };
  const course = { fact: 'enrollment', params: { course: COURSES[i % COURSES.length] }, path: '$.status', operator: 'equal', value: STATUSES[i % 3] };
  const conditions = i % 3 === 0 ? { all: [department] } : i % 3 === 1 ? { all: [course] } : { all: [department, course] };
  return { conditions } as RuleDocument;
}

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-bench-batch-'));
  const embedded = await startEmbeddedDb({ dataDir: dir, port: await freePort() });
  const config = loadConfig({ MONGODB_URI: `${embedded.uri}&monitorCommands=true`, MONGODB_DB: 'bench_batch_membership', PORT: '0', LOG_LEVEL: 'silent', ROLE: 'api' });
  const service = await start(config, createLogger('silent'));
  try {
    const { key } = await createApiKey('bench', 'admin');
    const base = `http://127.0.0.1:${service.port}/api/v1`;
    const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    const call = async (method: string, p: string, body: unknown) => {
      const res = await fetch(`${base}${p}`, { method, headers, body: JSON.stringify(body) });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 300)}`);
      return JSON.parse(text) as Record<string, number>;
    };
    await call('PUT', '/fields/department', { label: 'Department', type: 'select', options: DEPARTMENTS });
    for (const c of COURSES) await call('PUT', `/courses/${c}`, { title: c });
    for (let i = 0; i < GROUPS; i++) await call('POST', '/groups', { name: `Batch group ${i}`, type: 'automatic', rule: ruleFor(i) });

    const commands = new CommandTally();
    commands.listen();
    const started = performance.now();
    for (let from = 0; from < USERS; from += PER_CALL) {
      const ids = Array.from({ length: Math.min(PER_CALL, USERS - from) }, (_, k) => from + k);
      const users = ids.map((i) => ({
        externalId: `b${String(i).padStart(6, '0')}`,
        email: `batch${i}@example.com`,
        firstName: `First${i}`,
        lastName: `Last${i}`,
        type: i % 10 === 0 ? 'staff' : 'learner',
        status: 'active',
        fields: { department: DEPARTMENTS[(i * 7) % DEPARTMENTS.length] },
      }));
      commands.phase = 'users batch';
      const u = await commands.timed(() => call('POST', '/users/batch', { users }));
      if (u.created !== users.length) throw new Error(`users batch: ${JSON.stringify(u).slice(0, 400)}`);
      const enrollments = ids.map((i) => ({ course: COURSES[(i * 3) % COURSES.length], externalId: `b${String(i).padStart(6, '0')}`, status: STATUSES[i % 3] }));
      commands.phase = 'enrolments batch';
      const e = await commands.timed(() => call('POST', '/enrollments/batch', { enrollments }));
      if (e.failed) throw new Error(`enrolments batch: ${JSON.stringify(e).slice(0, 400)}`);
    }
    const ms = performance.now() - started;
    commands.phase = undefined;
    commands.print(Math.ceil(USERS / PER_CALL));

    // Outside the timing: every group holds exactly the users its rule selects.
    const groups = await GroupModel.find({}).lean<Array<{ _id: string; rule: RuleDocument }>>();
    const facts = (await usersCollection().find({}).toArray()).map((u) => toUserFacts(u));
    let memberships = 0;
    for (const g of groups) {
      const rule = compileRule(g.rule);
      const want = new Set(facts.filter((f) => rule.predicate(f, new Date())).map((f) => f.externalId));
      const have = new Set((await service.database.db.collection('memberships').find({ group: g._id }).toArray()).map((m) => m.externalId as string));
      if (want.size !== have.size || [...want].some((id) => !have.has(id))) throw new Error(`group ${g._id}: ${have.size} members, rule selects ${want.size}`);
      memberships += have.size;
    }
    return [
      { name: `batch feed: ${USERS.toLocaleString('en-US')} new users + one enrolment each, ${GROUPS} automatic groups`, value: Math.round(ms), unit: 'ms' },
      { name: 'batch feed: users into their groups', value: Math.round((USERS / ms) * 1000), unit: 'users/s' },
      { name: 'batch feed: memberships written (each checked against its rule)', value: memberships, unit: 'memberships' },
    ];
  } finally {
    await service.stop();
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Commands the service sent, per bench phase, command and collection: how many, and the time they took. */
class CommandTally {
  phase: string | undefined;
  private readonly rows = new Map<string, { n: number; ms: number }>();
  private readonly wall = new Map<string, number>();
  private readonly open = new Map<number, string>();

  listen(): void {
    const client = mongoose.connection.getClient();
    client.on('commandStarted', (e: CommandStartedEvent) => {
      if (!this.phase) return;
      const coll = e.command[e.commandName] ?? e.command.collection;
      this.open.set(e.requestId, `${this.phase}\t${e.commandName}\t${typeof coll === 'string' ? coll : ''}`);
    });
    const done = (e: CommandSucceededEvent | CommandFailedEvent) => {
      const key = this.open.get(e.requestId);
      if (!key) return;
      this.open.delete(e.requestId);
      const row = this.rows.get(key) ?? { n: 0, ms: 0 };
      row.n++;
      row.ms += e.duration;
      this.rows.set(key, row);
    };
    client.on('commandSucceeded', done);
    client.on('commandFailed', done);
  }

  async timed<T>(work: () => Promise<T>): Promise<T> {
    const phase = this.phase!;
    const t = performance.now();
    try {
      return await work();
    } finally {
      this.wall.set(phase, (this.wall.get(phase) ?? 0) + performance.now() - t);
    }
  }

  print(calls: number): void {
    const per = (x: number) => (x / calls).toFixed(1).padStart(9);
    console.log(`\nper call (average of ${calls}): commands and their time, by phase, command and collection`);
    for (const [phase, wallMs] of this.wall) {
      const rows = [...this.rows].filter(([k]) => k.startsWith(`${phase}\t`)).sort((a, b) => b[1].ms - a[1].ms);
      const n = rows.reduce((s, [, r]) => s + r.n, 0);
      const ms = rows.reduce((s, [, r]) => s + r.ms, 0);
      console.log(`${phase}: ${per(wallMs)} ms answered, ${per(n)} commands taking ${per(ms)} ms`);
      for (const [k, r] of rows) {
        const [, cmd, coll] = k.split('\t');
        console.log(`  ${`${cmd} ${coll}`.padEnd(48)} ${per(r.n)} commands ${per(r.ms)} ms`);
      }
    }
  }
}

await runWhenMain(import.meta.url, run);
