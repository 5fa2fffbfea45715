// Delivery by worker processes and over days: the API process here delivers nothing (ROLE=api), so that passes run
// either by hand with a clock the test moves, or in real worker processes, one of them killed mid-delivery.
import { expect } from 'chai';
import { startTestService, testDatabaseUri, type TestService } from '../../helpers/service.js';
import { spawnService, type ChildService } from '../../helpers/child-service.js';
import { createGroup, putUser, userBody, type Auth } from '../membership/membership-helpers.js';
import { deliverPass, RETRY_DELAYS_MS } from '../../../src/webhooks/delivery.js';
import { webhooks } from '../../../src/webhooks/webhook.model.js';
import { LOG_RETENTION_MS, pruneLog } from '../../../src/changes/change-log.js';
import { startReceiver, type Receiver } from './receiver.js';

describe('Webhook delivery: retries over days, refused targets, workers that die', function () {
  this.timeout(120_000);
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  let receiver: Receiver;
  const workers: ChildService[] = [];

  before(async () => {
    t = await startTestService('webhookworkers', { ROLE: 'api', WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
  });
  beforeEach(async () => {
    receiver = await startReceiver();
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
      await w.exited;
    }
    for (const w of (await t.api.get('/api/v1/webhooks').set(admin).expect(200)).body.items as Array<{ id: string }>) {
      await t.api.delete(`/api/v1/webhooks/${w.id}`).set(admin).expect(204);
    }
    await receiver.close();
  });
  after(async () => t.stop());

  const subscribe = async () =>
    (await t.api.post('/api/v1/webhooks').set(admin).send({ url: receiver.url, events: ['membership.added', 'membership.removed'] }).expect(201)).body as { id: string; secret: string };
  const stored = async (id: string) => (await webhooks().findOne({ _id: id }))!;
  const addMembers = async (n: number) => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const users = await Promise.all(Array.from({ length: n }, () => putUser(t, hr, userBody())));
    for (const u of users) await t.api.put(`/api/v1/groups/${group.id}/members/${u}`).set(admin).expect((r) => expect(r.status).to.be.oneOf([200, 201]));
    return users;
  };
  const startWorker = async () => {
    const w = await spawnService({
      ROLE: 'worker',
      MONGODB_URI: testDatabaseUri(),
      MONGODB_DB: t.service.config.databaseName,
      WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
      JOB_POLL_MS: '100',
      // A killed worker's leases are taken over after this.
      LEASE_TTL_MS: '1500',
    });
    workers.push(w);
    return w;
  };

  it('when a receiver fails for 3 days (a moved clock), then retries back off with the same webhook-id and the subscription is disabled with its reason', async () => {
    const sub = await subscribe();
    receiver.respond = () => 500;
    await addMembers(1);
    const t0 = Date.now();
    const at = (ms: number) => ({ allowPrivate: true, now: () => new Date(t0 + ms) });
    await deliverPass(await stored(sub.id), at(0));
    expect(receiver.received).to.have.length(1);
    expect((await stored(sub.id)).state).to.equal('failing');
    // Not due yet: the first retry waits RETRY_DELAYS_MS[0] (5 s).
    await deliverPass(await stored(sub.id), at(RETRY_DELAYS_MS[0]! - 1000));
    expect(receiver.received).to.have.length(1);
    await deliverPass(await stored(sub.id), at(RETRY_DELAYS_MS[0]!));
    expect(receiver.received).to.have.length(2);
    // Two days on: still failing, retried.
    await deliverPass(await stored(sub.id), at(2 * 86400_000));
    expect(receiver.received).to.have.length(3);
    expect((await stored(sub.id)).state).to.equal('failing');
    await deliverPass(await stored(sub.id), at(3 * 86400_000 + 60_000));
    expect(receiver.received).to.have.length(4);
    const disabled = await t.api.get(`/api/v1/webhooks/${sub.id}`).set(admin).expect(200);
    expect(disabled.body.state).to.equal('disabled');
    expect(disabled.body.stateReason).to.match(/failed for 3 days \(last: answered 500\)/);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).to.equal(1);
    // Turned back on by an admin, it goes on from the undelivered event.
    receiver.respond = () => 200;
    await t.api.patch(`/api/v1/webhooks/${sub.id}`).set(admin).send({ state: 'active' }).expect(200);
    await deliverPass(await stored(sub.id), at(3 * 86400_000 + 120_000 + RETRY_DELAYS_MS.at(-1)!));
    expect(receiver.received).to.have.length(5);
    expect((await stored(sub.id)).state).to.equal('active');
  });

  it('when a subscription is turned back on after the log was pruned past it, then it goes on from the oldest change kept', async () => {
    const sub = await subscribe();
    await t.api.patch(`/api/v1/webhooks/${sub.id}`).set(admin).send({ state: 'disabled' }).expect(200);
    await addMembers(2);
    // Nine days on: the log keeps only its newest entry, the second addition.
    await pruneLog(new Date(Date.now() + LOG_RETENTION_MS + 86400_000));
    await t.api.patch(`/api/v1/webhooks/${sub.id}`).set(admin).send({ state: 'active' }).expect(200);
    await deliverPass(await stored(sub.id), { allowPrivate: true });
    expect(receiver.received).to.have.length(1);
    await deliverPass(await stored(sub.id), { allowPrivate: true });
    expect(receiver.received).to.have.length(1);
  });

  it('when a target is private at delivery time, then the attempt is refused before connecting and recorded with why', async () => {
    const sub = await subscribe();
    await addMembers(1);
    await deliverPass(await stored(sub.id), { allowPrivate: false });
    expect(receiver.received).to.have.length(0);
    const [delivery] = (await t.api.get(`/api/v1/webhooks/${sub.id}/deliveries`).set(admin).expect(200)).body.items;
    expect(delivery.attempts[0].error).to.match(/refused target: must be an https: URL/);
    expect((await stored(sub.id)).state).to.equal('failing');
    // An https: URL whose name resolves to a loopback address: refused when resolved for the connection.
    const named = (await t.api.post('/api/v1/webhooks').set(admin).send({ url: 'https://localhost:9/hooks', events: ['membership.added'] }).expect(201)).body as { id: string };
    await addMembers(1);
    await deliverPass(await stored(named.id), { allowPrivate: false });
    const [refused] = (await t.api.get(`/api/v1/webhooks/${named.id}/deliveries`).set(admin).expect(200)).body.items;
    expect(refused.attempts[0].error).to.match(/refused target: resolves to a private, loopback, link-local or metadata address \((127\.0\.0\.1|::1) is a loopback address\)/);
  });

  it('when a worker is killed mid-delivery, then another sends the event again with the same webhook-id and nothing is lost', async () => {
    const first = await startWorker();
    const sub = await subscribe();
    let hung: string | undefined;
    receiver.respond = (r) => {
      if (hung === undefined) {
        hung = String(r.headers['webhook-id']);
        return 'hang';
      }
      return 200;
    };
    const users = await addMembers(3);
    await receiver.waitFor(1);
    first.child.kill('SIGKILL');
    await first.exited;
    await startWorker();
    await receiver.waitFor(4, 30_000);
    const ids = receiver.received.map((r) => String(r.headers['webhook-id']));
    expect(ids.filter((id) => id === hung).length).to.be.at.least(2);
    expect(new Set(ids).size).to.equal(3);
    expect(receiver.received.map((r) => (JSON.parse(r.body) as { data: { externalId: string } }).data.externalId).filter((u, i, all) => all.indexOf(u) === i).sort()).to.deep.equal([...users].sort());
    // The killed worker's attempt was never recorded: the hung event's delivery shows the successor's attempt.
    const deliveries = (await t.api.get(`/api/v1/webhooks/${sub.id}/deliveries`).set(admin).expect(200)).body.items as Array<{ eventId: string; state: string }>;
    expect(deliveries.map((d) => d.state)).to.deep.equal(['delivered', 'delivered', 'delivered']);
  });

  it('when two workers\' syncs and the API write memberships at once, then the change log numbers every change once, with no gap', async () => {
    await Promise.all([startWorker(), startWorker()]);
    const db = t.service.database.db;
    const [head] = await db.collection('membership_change_log').find({}, { projection: { _id: 1 } }).sort({ _id: -1 }).limit(1).toArray();
    const from = Number(head?._id ?? 0);
    const site = `site${Date.now().toString(36)}`;
    await t.api.put('/api/v1/fields/site').set(hr).send({ label: 'Site', type: 'text' }).expect((r) => expect(r.status).to.be.oneOf([200, 201]));
    const users = await Promise.all(Array.from({ length: 30 }, () => putUser(t, hr, userBody({ fields: { site } }))));
    const manual = await createGroup(t, admin, { type: 'manual' });
    // Four rule groups synced by the workers' jobs, while this process adds by hand.
    const rule = { conditions: { all: [{ fact: 'field', params: { key: 'site' }, operator: 'equal', value: site }] } };
    const created = await Promise.all(Array.from({ length: 4 }, (_, i) => t.api.post('/api/v1/groups').set(admin).send({ name: `Synced ${site} ${i}`, type: 'automatic', rule }).expect(201)));
    await Promise.all(users.map((u) => t.api.put(`/api/v1/groups/${manual.id}/members/${u}`).set(admin).expect((r) => expect(r.status).to.be.oneOf([200, 201]))));
    const groups = [manual.id, ...created.map((r) => r.body.id as string)];
    // Wait for the syncs: 5 groups of 30.
    for (let i = 0; i < 200 && (await db.collection('membership_history').countDocuments({ group: { $in: groups } })) < 150; i++) await new Promise((r) => setTimeout(r, 100));
    const history = await db.collection('membership_history').find({ group: { $in: groups } }).toArray();
    expect(history.length).to.equal(150);
    const entries = await db.collection('membership_change_log').find({}).toArray();
    const numbers = entries.map((e) => Number(e._id)).filter((n) => n > from).sort((a, b) => a - b);
    expect(numbers).to.deep.equal(Array.from({ length: numbers.length }, (_, i) => from + 1 + i));
    const logged = entries.filter((e) => Number(e._id) > from).flatMap((e) => e.events as string[]).filter((id) => groups.some((g) => id.startsWith(`${g}:`)));
    expect([...logged].sort()).to.deep.equal(history.map((h) => String(h._id)).sort());
  });

  it('when a worker is stopped while a receiver hangs, then it exits 0 within its shutdown time, and the next worker delivers', async () => {
    const worker = await startWorker();
    await subscribe();
    receiver.respond = (_r, i) => (i === 0 ? 'hang' : 204);
    await addMembers(1);
    await receiver.waitFor(1);
    const started = Date.now();
    worker.child.kill('SIGTERM');
    expect(await worker.exited).to.equal(0);
    expect(Date.now() - started).to.be.below(8000);
    await startWorker();
    await receiver.waitFor(2, 30_000);
    expect(receiver.received[1]!.headers['webhook-id']).to.equal(receiver.received[0]!.headers['webhook-id']);
  });

  it('when two workers run, then each delivery is sent once', async () => {
    await Promise.all([startWorker(), startWorker()]);
    await subscribe();
    await addMembers(20);
    await receiver.waitFor(20, 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    const ids = receiver.received.map((r) => String(r.headers['webhook-id']));
    expect(ids).to.have.length(20);
    expect(new Set(ids).size).to.equal(20);
  });
});
