// SIGTERM while an HR batch is being written: the request in flight finishes (or fails cleanly), the process exits
// 0, and no stored user is left without the membership its rule gives: what the batch could not react to is in
// the outbox as an open write, and the replay (on the next start) finishes it.
import { expect } from 'chai';
import http from 'node:http';
import { MongoClient } from 'mongodb';
import { spawnService } from '../../helpers/child-service.js';
import { startTestService, testDatabaseUri, uniqueDatabaseName } from '../../helpers/service.js';
import { replayDue } from '../../../src/directory/user-writes.js';
import { UNCONFIRMED_GRACE_MS } from '../../../src/directory/user-events.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function post(port: number, path: string, key: string, body: unknown): Promise<{ status: number; body: string } | { error: string }> {
  const text = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path, headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) } },
      (res) => {
        let out = '';
        res.on('data', (c: Buffer) => (out += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: out }));
        res.on('error', (err) => resolve({ error: err.message }));
      },
    );
    req.on('error', (err) => resolve({ error: err.message }));
    req.end(text);
  });
}

describe('SIGTERM during a batch', function () {
  this.timeout(180_000);

  it('when the service is stopped while it writes a batch, then the batch answers or fails cleanly, it exits 0, and every stored user ends with its membership', async () => {
    const key = 'agk_sigterm_batch_test_key_000000000001';
    const dbName = uniqueDatabaseName('sigterm');
    const svc = await spawnService({ MONGODB_URI: testDatabaseUri(), MONGODB_DB: dbName, BOOTSTRAP_ADMIN_KEY: key, JOB_POLL_MS: '200' });
    const put = (path: string, body: unknown) =>
      fetch(`http://127.0.0.1:${svc.port}/api/v1${path}`, { method: path === '/groups' ? 'POST' : 'PUT', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect((await put('/fields/department', { label: 'Department', type: 'select', options: ['Sales', 'Other'] })).status).to.be.oneOf([200, 201]);
    const group = await put('/groups', { name: 'Sales', type: 'automatic', rule: { conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Sales' }] } } });
    expect(group.status).to.equal(201);
    const groupId = ((await group.json()) as { id: string }).id;
    const users = Array.from({ length: 5000 }, (_, i) => ({
      externalId: `st${i}`, email: `st${i}@example.com`, firstName: 'A', lastName: 'B', type: 'learner', status: 'active', fields: { department: i % 2 ? 'Sales' : 'Other' },
    }));

    const client = await MongoClient.connect(testDatabaseUri());
    try {
      const db = client.db(dbName);
      const answer = post(svc.port, '/api/v1/users/batch', key, { users });
      const deadline = Date.now() + 60_000;
      while (!(await db.collection('users').findOne({ _id: 'st0' as never }))) {
        if (Date.now() > deadline) throw new Error('the batch stored nothing within 60 s');
        await sleep(10);
      }
      svc.child.kill('SIGTERM');
      const got = await answer;
      expect(await svc.exited, 'exit code').to.equal(0);
      // Finished (200 with every record counted), or failed cleanly: a 503 problem, or the connection closed by
      // the stop's time bound. Never a 500.
      if ('status' in got) {
        expect(got.status, got.body).to.be.oneOf([200, 503]);
        if (got.status === 200) expect(JSON.parse(got.body)).to.include({ created: 5000, failed: 0 });
      }

      // Whatever reaction the stop cut off is an open write; the next start replays it (the sweep would after
      // the grace period; here it is asked to now).
      const next = await startTestService('sigterm2', { MONGODB_DB: dbName });
      try {
        if ((await db.collection('user_event_writes').countDocuments({})) > 0) {
          const replay = await replayDue({ now: new Date(Date.now() + UNCONFIRMED_GRACE_MS + 1000) });
          expect(replay.failed, replay.errors.join('; ')).to.equal(0);
        }
        const stored = (await db.collection('users').find({}, { projection: { _id: 1, fields: 1 } }).toArray()) as unknown as Array<{ _id: string; fields: { department: string } }>;
        const expected = stored.filter((u) => u.fields.department === 'Sales').map((u) => u._id).sort();
        const members = (await db.collection('memberships').find({ group: groupId }).toArray()).map((m) => String(m.externalId)).sort();
        expect(members, `${stored.length} users stored; every stored Sales user is a member, no one else`).to.deep.equal(expected);
        console.log(`      batch: ${'status' in got ? got.status : got.error}; users stored: ${stored.length}`);
      } finally {
        await next.stop();
      }
    } finally {
      await client.close();
    }
  });
});
