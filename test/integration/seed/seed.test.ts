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
  const groups = await db.collection<{ _id: string; name: string }>('groups').find({}).toArray();
  const counts = new Map<string, number>();
  for (const g of groups) counts.set(g.name, await db.collection('memberships').countDocuments({ group: g._id }));
  return counts;
}

function expectCleanExit(run: CommandRun): void {
  const text = run.lines.join('\n');
  expect(run.code, text).to.equal(0);
  // The Agenda alive-check timers once kept the process up for ~50 s after its summary.
  expect(run.silentBeforeExitMs, 'time between the last line printed and the exit').to.be.below(10_000);
  expect(text).to.not.match(/^\s+at /m);
  expect(text).to.not.match(/Error\b/);
}

describe('npm run seed', function () {
  this.timeout(240_000);
  const dbName = uniqueDatabaseName('seed');
  // The run's database server is known once the global hooks have run, not when this file loads.
  let env: Record<string, string>;
  let client: MongoClient;
  before(() => {
    env = { MONGODB_URI: testDatabaseUri(), MONGODB_DB: dbName };
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
    for (const phase of ['fields', 'courses', 'users', 'enrolments', 'groups', 'sync']) expect(text).to.match(new RegExp(`^${phase}\\b.*\\b(\\d+)/\\1\\b`, 'm'));

    const counts = await membersByGroup(client, dbName);
    expect(counts.size).to.equal(8);
    for (const [name, members] of counts) {
      expect(members, name).to.be.above(0);
      // The summary names each group with the members it holds.
      expect(text).to.match(new RegExp(`^\\s+${name}\\s.*\\b${members} members?\\b`, 'm'));
    }
    expect(counts.get('Lisbon engineering managers')).to.be.above(0);
  });

  it('when run again, then it changes nothing and exits at once with 0', async () => {
    const before = await membersByGroup(client, dbName);
    const run = await runCommand([process.execPath, '--import', 'tsx', 'seed/load.ts'], env, 180_000);
    expectCleanExit(run);
    const text = run.lines.join('\n');
    expect(text).to.match(/^users\b.* 0 created, 0 updated, 240 unchanged/m);
    expect(text).to.match(/^groups\b.* 0 created/m);
    expect(await membersByGroup(client, dbName)).to.deep.equal(before);
  });
});
