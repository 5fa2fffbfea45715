// `npm run seed` as a newcomer runs it: the whole loader as a process, against the run's database server in a
// database of its own. Every demo group must end with members, the process must exit as soon as it has printed
// its summary, with code 0 and no stack trace, and a second run must change nothing.
import { expect } from 'chai';
import { MongoClient } from 'mongodb';
import { runCommand, type CommandRun } from '../../helpers/child-command.js';
import { testDatabaseUri, uniqueDatabaseName } from '../../helpers/service.js';

/** Group name → members stored for it. */
async function membersByGroup(client: MongoClient, dbName: string): Promise<Map<string, number>> {
  const db = client.db(dbName);
  const groups = await db.collection<{ _id: string; name: string; scope?: string }>('groups').find({}).toArray();
  const counts = new Map<string, number>();
  // A course's class groups by `<course> <name>` (their names are unique within the course only).
  for (const g of groups) counts.set(g.scope ? `${g.scope} ${g.name}` : g.name, await db.collection('memberships').countDocuments({ group: g._id }));
  return counts;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The class groups the demo course AHIS190 has (seed/generate.ts): one per class, per cohort, and per mode. */
const CLASS_GROUPS = [
  '[Tutorial_1|THU|01:00PM|C05]',
  '[Tutorial_2|FRI|10:00AM|C07]',
  '[Tutorial_3|FRI|02:00PM|C07]',
  '[AHIS190_2018_FHFYR_INT_U]',
  '[AHIS190_2018_FHFYR_EXT_U]',
  '[Internal]',
  '[External]',
];

function expectCleanExit(run: CommandRun): void {
  const text = run.lines.join('\n');
  expect(run.code, text).to.equal(0);
  // The Agenda alive-check timers once kept the process up for ~50 s after its summary.
  expect(run.silentBeforeExitMs, 'time between the last line printed and the exit').to.be.below(10_000);
  expect(text).to.not.match(/^\s+at /m);
  expect(text, run.lines.filter((l) => /Error\b/.test(l)).join('\n')).to.not.match(/Error\b/);
}

describe('npm run seed', function () {
  this.timeout(240_000);
  const dbName = uniqueDatabaseName('seed');
  // The run's database server is known once the global hooks have run, not when this file loads.
  let env: Record<string, string>;
  let client: MongoClient;
  before(() => {
    // Jobs polled every 100 ms as in every other test, not every second: the loader waits for the jobs it queues
    // (group syncs, the full sync, the snapshot, the class group sync), each picked up at the next poll.
    env = { MONGODB_URI: testDatabaseUri(), MONGODB_DB: dbName, JOB_POLL_MS: '100' };
    client = new MongoClient(testDatabaseUri());
  });
  after(async () => {
    await client.db(dbName).dropDatabase().catch(() => undefined);
    await client.close();
  });

  it('when run on an empty database, then every demo group has members, progress and a summary are printed, and it exits at once with 0', async () => {
    const run = await runCommand([process.execPath, '--import', 'tsx', 'seed/load.ts'], env, 180_000);
    expectCleanExit(run);
    const text = run.lines.join('\n');
    for (const phase of ['fields', 'courses', 'users', 'enrolments', 'groups', 'sync', 'class sync']) expect(text).to.match(new RegExp(`^${phase}\\b.*\\b(\\d+)/\\1\\b`, 'm'));
    expect(text).to.match(/^class sync\b.* 1 turned on/m);

    const counts = await membersByGroup(client, dbName);
    expect(counts.size).to.equal(8 + CLASS_GROUPS.length);
    for (const name of CLASS_GROUPS) expect(counts.has(`AHIS190 ${name}`), name).to.equal(true);
    expect(text).to.match(/^\s+class groups of course AHIS190\b/m);
    for (const [key, members] of counts) {
      expect(members, key).to.be.above(0);
      // The summary names each group with the members it holds.
      const name = key.startsWith('AHIS190 ') ? key.slice('AHIS190 '.length) : key;
      expect(text).to.match(new RegExp(`^\\s+${escape(name)}\\s.*\\b${members} members?\\b`, 'm'));
    }
    // Class groups hold students by their class registration (source class).
    const db = client.db(dbName);
    const tutorial = await db.collection('groups').findOne({ scope: 'AHIS190', name: CLASS_GROUPS[0] });
    expect(await db.collection('memberships').countDocuments({ group: tutorial!._id, source: { $ne: 'class' } })).to.equal(0);
    expect(counts.get('Lisbon engineering managers')).to.be.above(0);
  });

  it('when run again, then it changes nothing and exits at once with 0', async () => {
    const before = await membersByGroup(client, dbName);
    const run = await runCommand([process.execPath, '--import', 'tsx', 'seed/load.ts'], env, 180_000);
    expectCleanExit(run);
    const text = run.lines.join('\n');
    expect(text).to.match(/^users\b.* 0 created, 0 updated, 240 unchanged/m);
    expect(text).to.match(/^groups\b.* 0 created/m);
    expect(text).to.match(/^class sync\b.* 0 turned on, 1 already as set/m);
    expect(await membersByGroup(client, dbName)).to.deep.equal(before);
  });
});
