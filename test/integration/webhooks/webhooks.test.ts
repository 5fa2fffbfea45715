// Webhook subscriptions and their delivery, with a local receiver: Standard Webhooks signatures verified with the
// reference library, retries that keep the webhook-id, one user's events in order, 410, rotation, hand retries.
import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import { startTestService, type TestService } from '../../helpers/service.js';
import { createGroup, putUser, userBody, type Auth } from '../membership/membership-helpers.js';
import { startReceiver, type Receiver, type Received } from './receiver.js';

interface Delivered {
  id: string;
  type: string;
  data: { groupId: string; externalId: string; source: string; reason: string; at: string };
}

const eventOf = (r: Received): Delivered => ({ id: String(r.headers['webhook-id']), ...(JSON.parse(r.body) as Omit<Delivered, 'id'>) });
const verify = (secret: string, r: Received) =>
  new Webhook(secret).verify(r.body, { 'webhook-id': String(r.headers['webhook-id']), 'webhook-timestamp': String(r.headers['webhook-timestamp']), 'webhook-signature': String(r.headers['webhook-signature']) });

describe('Webhooks: signed deliveries of membership changes to a local receiver', function () {
  this.timeout(60_000);
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  let receiver: Receiver;
  const db = () => t.service.database.db;

  before(async () => {
    t = await startTestService('webhooks', { WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
  });
  beforeEach(async () => {
    receiver = await startReceiver();
  });
  afterEach(async () => {
    // Each test's subscriptions go with it, so that none delivers into the next test's receiver.
    for (const w of (await t.api.get('/api/v1/webhooks').set(admin).expect(200)).body.items as Array<{ id: string }>) {
      await t.api.delete(`/api/v1/webhooks/${w.id}`).set(admin).expect(204);
    }
    await receiver.close();
  });
  after(async () => t.stop());

  const subscribe = async (body: Record<string, unknown> = {}) => {
    const res = await t.api.post('/api/v1/webhooks').set(admin).send({ url: receiver.url, events: ['membership.added', 'membership.removed'], ...body }).expect(201);
    return res.body as { id: string; secret: string; state: string };
  };
  const addMember = (groupId: string, user: string) => t.api.put(`/api/v1/groups/${groupId}/members/${user}`).set(admin).expect((r) => expect(r.status).to.be.oneOf([200, 201]));
  const removeMember = (groupId: string, user: string) => t.api.delete(`/api/v1/groups/${groupId}/members/${user}`).set(admin).expect(204);
  const until = async (what: () => Promise<boolean>, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await what())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('when a subscription is created, then its secret is shown once, it is stored without it in answers, and only admins reach it', async () => {
    const sub = await subscribe({ description: 'LMS' });
    expect(sub.secret).to.match(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(sub.secret.slice(6), 'base64')).to.have.length(32);
    expect(sub.state).to.equal('active');
    const got = await t.api.get(`/api/v1/webhooks/${sub.id}`).set(admin).expect(200);
    expect(got.body).to.not.have.property('secret');
    expect(got.body).to.include({ url: receiver.url, description: 'LMS', state: 'active' });
    const stored = await db().collection('webhooks').findOne({ _id: sub.id as never });
    expect(stored?.secrets[0].value).to.equal(sub.secret);
    await t.api.get('/api/v1/webhooks').set(await t.auth('viewer')).expect(403);
    await t.api.post('/api/v1/webhooks').set(await t.auth('support')).send({ url: receiver.url, events: ['membership.added'] }).expect(403);
    const bad = await t.api.post('/api/v1/webhooks').set(admin).send({ url: 'ftp://x', events: ['membership.moved'], groups: ['nope'], extra: 1 }).expect(400);
    expect((bad.body.errors as Array<{ path: string }>).map((e) => e.path).sort()).to.deep.equal(['events[0]', 'extra', 'groups[0]'].sort());
    const badUrl = await t.api.post('/api/v1/webhooks').set(admin).send({ url: 'ftp://x', events: ['membership.added'] }).expect(400);
    expect(badUrl.body.errors.map((e: { path: string }) => e.path)).to.deep.equal(['url']);
  });

  it('when members are added and removed, then the receiver gets each change within 5 s, signed (verified with standardwebhooks), in order', async () => {
    const sub = await subscribe();
    const group = await createGroup(t, admin, { type: 'manual' });
    const user = await putUser(t, hr, userBody());
    const started = Date.now();
    await addMember(group.id, user);
    await removeMember(group.id, user);
    const got = await receiver.waitFor(2, 10_000);
    expect(got[0]!.at - started).to.be.below(5000);
    for (const r of got) verify(sub.secret, r);
    expect(got.map((r) => r.headers['content-type'])).to.deep.equal(['application/json', 'application/json']);
    const events = got.map(eventOf);
    expect(events.map((e) => [e.type, e.data.groupId, e.data.externalId, e.data.source])).to.deep.equal([
      ['membership.added', group.id, user, 'manual'],
      ['membership.removed', group.id, user, 'manual'],
    ]);
    expect(events[1]!.data.reason).to.equal('removed by hand');
    // The webhook-id is the change's id in the changes feed and in history.
    expect(await db().collection('membership_history').countDocuments({ _id: { $in: events.map((e) => e.id) } as never })).to.equal(2);
    await until(async () => (await t.api.get(`/api/v1/webhooks/${sub.id}/deliveries`).set(admin).expect(200)).body.items.length === 2);
    const deliveries = (await t.api.get(`/api/v1/webhooks/${sub.id}/deliveries`).set(admin).expect(200)).body.items as Array<{ state: string; eventId: string; attempts: Array<{ statusCode: number }> }>;
    expect(deliveries.map((d) => d.state)).to.deep.equal(['delivered', 'delivered']);
    expect(deliveries.map((d) => d.eventId).sort()).to.deep.equal(events.map((e) => e.id).sort());
    expect(deliveries.every((d) => d.attempts.length === 1 && d.attempts[0]!.statusCode === 204)).to.equal(true);
  });

  it('when the receiver fails, then the retry comes within 10 s with the same webhook-id, and one user\'s later events wait for it', async () => {
    const sub = await subscribe();
    const group = await createGroup(t, admin, { type: 'manual' });
    const user = await putUser(t, hr, userBody());
    receiver.respond = (_r, i) => (i === 0 ? 500 : 200);
    await addMember(group.id, user);
    await removeMember(group.id, user);
    await addMember(group.id, user);
    const got = await receiver.waitFor(4, 20_000);
    expect(got[0]!.headers['webhook-id']).to.equal(got[1]!.headers['webhook-id']);
    expect(got[1]!.at - got[0]!.at).to.be.below(10_000);
    expect(got.slice(1).map((r) => eventOf(r).type)).to.deep.equal(['membership.added', 'membership.removed', 'membership.added']);
    await until(async () => (await t.api.get(`/api/v1/webhooks/${sub.id}`).set(admin)).body.state === 'active');
    const first = (await t.api.get(`/api/v1/webhooks/${sub.id}/deliveries`).set(admin).expect(200)).body.items.find((d: { eventId: string }) => d.eventId === got[0]!.headers['webhook-id']);
    expect(first.attempts.map((a: { statusCode: number }) => a.statusCode)).to.deep.equal([500, 200]);
  });

  it('when the receiver answers 410, then the subscription is disabled at once with its reason, and sends nothing more', async () => {
    const sub = await subscribe();
    const group = await createGroup(t, admin, { type: 'manual' });
    receiver.respond = () => 410;
    await addMember(group.id, await putUser(t, hr, userBody()));
    await receiver.waitFor(1);
    await until(async () => (await t.api.get(`/api/v1/webhooks/${sub.id}`).set(admin)).body.state === 'disabled');
    expect((await t.api.get(`/api/v1/webhooks/${sub.id}`).set(admin)).body.stateReason).to.match(/410/);
    await addMember(group.id, await putUser(t, hr, userBody()));
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.received).to.have.length(1);
  });

  it('when the secret is rotated with a grace period, then deliveries verify with the old and the new secret, and the new one is shown once', async () => {
    const sub = await subscribe();
    const rotated = await t.api.post(`/api/v1/webhooks/${sub.id}/rotate-secret`).set(admin).send({ graceSeconds: 3600 }).expect(200);
    expect(rotated.body.secret).to.match(/^whsec_/).and.not.equal(sub.secret);
    expect(Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()).to.be.within(3_500_000, 3_600_000);
    const group = await createGroup(t, admin, { type: 'manual' });
    await addMember(group.id, await putUser(t, hr, userBody()));
    const [r] = await receiver.waitFor(1);
    expect(String(r!.headers['webhook-signature']).split(' ')).to.have.length(2);
    verify(sub.secret, r!);
    verify(rotated.body.secret as string, r!);
    expect(() => verify('whsec_' + Buffer.alloc(32).toString('base64'), r!)).to.throw();
    // Without a grace period the old secret stops at once.
    const again = await t.api.post(`/api/v1/webhooks/${sub.id}/rotate-secret`).set(admin).send({ graceSeconds: 0 }).expect(200);
    await addMember(group.id, await putUser(t, hr, userBody()));
    const [, r2] = await receiver.waitFor(2);
    verify(again.body.secret as string, r2!);
    expect(() => verify(rotated.body.secret as string, r2!)).to.throw();
  });

  it('when a failed delivery is retried by hand, then it is sent again now with the same webhook-id and the attempt is listed', async () => {
    const sub = await subscribe();
    const group = await createGroup(t, admin, { type: 'manual' });
    receiver.respond = () => 503;
    await addMember(group.id, await putUser(t, hr, userBody()));
    await receiver.waitFor(1);
    await until(async () => (await t.api.get(`/api/v1/webhooks/${sub.id}`).set(admin)).body.state === 'failing');
    expect((await t.api.get(`/api/v1/webhooks/${sub.id}`).set(admin)).body.stateReason).to.match(/503/);
    const [delivery] = (await t.api.get(`/api/v1/webhooks/${sub.id}/deliveries`).set(admin).expect(200)).body.items as Array<{ id: string; eventId: string }>;
    receiver.respond = () => 200;
    const retried = await t.api.post(`/api/v1/webhooks/${sub.id}/deliveries/${delivery!.id}/retry`).set(admin).expect(200);
    expect(retried.body.state).to.equal('delivered');
    expect(retried.body.attempts.at(-1)).to.include({ statusCode: 200, manual: true });
    expect(receiver.received.at(-1)!.headers['webhook-id']).to.equal(delivery!.eventId);
    await t.api.post(`/api/v1/webhooks/${sub.id}/deliveries/dlv_${'0'.repeat(24)}/retry`).set(admin).expect(404);
  });

  it('when a test event is sent, then the receiver gets a signed webhook.test and the answer reports it', async () => {
    const sub = await subscribe();
    const res = await t.api.post(`/api/v1/webhooks/${sub.id}/test`).set(admin).expect(200);
    expect(res.body).to.include({ ok: true, statusCode: 204 });
    const [r] = await receiver.waitFor(1);
    expect((verify(sub.secret, r!) as { type: string }).type).to.equal('webhook.test');
  });

  it('when deliveries are made and one waits, then /metrics shows them by outcome, the queue depth and the oldest waiting event\'s age', async () => {
    const sub = await subscribe();
    const group = await createGroup(t, admin, { type: 'manual' });
    receiver.respond = (_r, i) => (i === 0 ? 200 : 'hang');
    await addMember(group.id, await putUser(t, hr, userBody()));
    await receiver.waitFor(1);
    await addMember(group.id, await putUser(t, hr, userBody()));
    await receiver.waitFor(2);
    await new Promise((r) => setTimeout(r, 1100));
    const text = (await t.api.get('/metrics').expect(200)).text;
    const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('autogroups_webhook_deliveries_total{outcome="delivered"}')).to.be.at.least(1);
    expect(value(`autogroups_webhook_queue_depth{webhook="${sub.id}"}`)).to.equal(1);
    expect(value(`autogroups_webhook_oldest_undelivered_seconds{webhook="${sub.id}"}`)).to.be.within(1, 30);
  });

  it('when deliveries are listed page by page, then each comes once, newest change first, and unattempted ones are not listed', async () => {
    const sub = await subscribe({ events: ['membership.added'] });
    const group = await createGroup(t, admin, { type: 'manual' });
    const users = [];
    for (let i = 0; i < 5; i++) {
      const user = await putUser(t, hr, userBody());
      users.push(user);
      await addMember(group.id, user);
    }
    await removeMember(group.id, users[0]!);
    await receiver.waitFor(5);
    await until(async () => (await t.api.get(`/api/v1/webhooks/${sub.id}/deliveries`).set(admin)).body.items.length === 5);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await t.api.get(`/api/v1/webhooks/${sub.id}/deliveries`).query({ limit: 2, ...(cursor ? { cursor } : {}) }).set(admin).expect(200);
      seen.push(...(res.body.items as Array<{ externalId: string }>).map((d) => d.externalId));
      cursor = res.body.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).to.deep.equal([...users].reverse());
    await t.api.get(`/api/v1/webhooks/${sub.id}/deliveries`).query({ cursor: 'nope' }).set(admin).expect(400);
  });

  it('when a subscription names groups, then only those groups\' changes are delivered', async () => {
    const [mine, other] = [await createGroup(t, admin, { type: 'manual' }), await createGroup(t, admin, { type: 'manual' })];
    await subscribe({ groups: [mine.id], events: ['membership.added'] });
    const user = await putUser(t, hr, userBody());
    await addMember(other.id, user);
    await addMember(mine.id, user);
    await removeMember(mine.id, user);
    const [r] = await receiver.waitFor(1);
    await new Promise((res) => setTimeout(res, 800));
    expect(receiver.received).to.have.length(1);
    expect(eventOf(r!).data.groupId).to.equal(mine.id);
  });
});
