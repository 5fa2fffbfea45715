// Support requests (issue 13): created open, moved through the allowed statuses, done only with an existing
// group, a draft rule stored with its errors, every change in the timeline with actor and time, the status
// filter, and the roles API.md gives (support and admin write, viewer reads, hr-feed and integration 403).
import { expect } from 'chai';
import type { Db } from 'mongodb';
import { startTestService, type TestService } from '../../helpers/service.js';
import { ROLES } from '../../../src/platform/roles.js';

type Auth = { Authorization: string };
interface Entry {
  at: string;
  actor: string;
  event: string;
  status: string;
  from?: string;
  groupId?: string | null;
  note?: string;
  draftRule?: string;
}

const validRule = { conditions: { all: [{ fact: 'user', path: '$.type', operator: 'equal', value: 'learner' }] } };
const badRule = { conditions: { all: [{ fact: 'field', params: { key: 'nosuchfield' }, operator: 'equal', value: 'x' }, { fact: 'email', operator: 'looksLike', value: 'x' }] } };

describe('Support requests', () => {
  let t: TestService;
  let db: Db;
  let support: Auth;
  let admin: Auth;
  let groupId: string;
  let supportKeyId: string;

  before(async () => {
    t = await startTestService('requests');
    db = t.service.database.db;
    support = await t.auth('support');
    admin = await t.auth('admin');
    const group = await t.api.post('/api/v1/groups').set(admin).send({ name: 'Requested group', type: 'manual' }).expect(201);
    groupId = group.body.id;
    const keys = await t.api.get('/api/v1/keys').set(admin).expect(200);
    supportKeyId = keys.body.items.find((k: { role: string }) => k.role === 'support').id;
  });
  after(async () => t.stop());

  const create = async (extra: Record<string, unknown> = {}, auth: Auth = support) =>
    (await t.api.post('/api/v1/requests').set(auth).send({ title: 'Sales learners', description: 'All learners in sales', requestedBy: 'jane@example.com', ...extra }).expect(201)).body;
  const stored = (id: string) => db.collection('support_requests').findOne({ _id: id as never });
  const patch = (id: string, body: Record<string, unknown>, auth: Auth = support) => t.api.patch(`/api/v1/requests/${id}`).set(auth).send(body);

  it('when support creates a request, then it is 201 open with a created timeline entry naming the key and the time, and it is stored', async () => {
    const before = Date.now();
    const res = await t.api.post('/api/v1/requests').set(support).send({ title: 'Sales learners', description: 'All learners in sales', requestedBy: 'jane@example.com' }).expect(201);
    expect(res.headers.location).to.equal(`/api/v1/requests/${res.body.id}`);
    expect(res.body).to.include({ title: 'Sales learners', description: 'All learners in sales', requestedBy: 'jane@example.com', status: 'open' });
    expect(res.body.id).to.match(/^req_[0-9a-f]{20}$/);
    expect(res.body).to.not.have.any.keys('draftRule', 'draftRuleErrors', 'groupId');
    expect(res.body.timeline).to.have.length(1);
    const [entry] = res.body.timeline as Entry[];
    expect(entry).to.include({ event: 'created', status: 'open', actor: `key:test support (${supportKeyId})` });
    expect(Date.parse(entry!.at)).to.be.within(before - 1000, Date.now() + 1000);
    expect(res.body.createdBy).to.equal(`key:test support (${supportKeyId})`);

    const doc = await stored(res.body.id);
    expect(doc).to.include({ status: 'open', title: 'Sales learners', revision: 1 });
    expect(doc!.timeline).to.have.length(1);
    expect((await t.api.get(`/api/v1/requests/${res.body.id}`).set(support).expect(200)).body).to.deep.equal(res.body);
  });

  it('when a draft rule is invalid, then the request is still created and the rule is stored with its errors', async () => {
    const res = await t.api.post('/api/v1/requests').set(support).send({ title: 'Odd rule', description: 'x', requestedBy: 'bob', draftRule: badRule }).expect(201);
    expect(res.body.draftRule).to.deep.equal(badRule);
    const paths = (res.body.draftRuleErrors as Array<{ path: string }>).map((e) => e.path);
    expect(paths).to.include.members(['conditions.all[0].params.key', 'conditions.all[1].operator']);
    // The same errors POST /rules/validate gives.
    const validated = await t.api.post('/api/v1/rules/validate').set(support).send({ rule: badRule }).expect(200);
    expect(res.body.draftRuleErrors).to.deep.equal(validated.body.errors);
    expect(res.body.timeline[0]).to.include({ draftRule: 'set' });
    const doc = await stored(res.body.id);
    expect(JSON.parse(doc!.draftRule as string)).to.deep.equal(badRule);
    expect(doc!.draftRuleErrors).to.deep.equal(validated.body.errors);
  });

  it('when a draft rule is valid, then it is stored with no errors', async () => {
    const res = await create({ draftRule: validRule });
    expect(res.draftRule).to.deep.equal(validRule);
    expect(res.draftRuleErrors).to.deep.equal([]);
    expect((await stored(res.id))!.draftRuleErrors).to.deep.equal([]);
  });

  it('when the body is bad, then 400 names every bad field and nothing is stored', async () => {
    const count = await db.collection('support_requests').countDocuments();
    const res = await t.api.post('/api/v1/requests').set(support).send({ title: '', requestedBy: 7, status: 'done', draftRule: { $where: 1 } }).expect(400);
    const paths = res.body.errors.map((e: { path: string }) => e.path);
    expect(paths).to.have.members(['title', 'description', 'requestedBy', 'status', 'draftRule.$where']);
    expect(await db.collection('support_requests').countDocuments()).to.equal(count);
  });

  it('when a request moves open → in_progress → done with a group, then each change is one timeline entry with actor, time, note and group', async () => {
    const req = await create();
    const moved = await patch(req.id, { status: 'in_progress', note: 'Taken up' }).expect(200);
    expect(moved.body.status).to.equal('in_progress');
    const done = await patch(req.id, { status: 'done', groupId, note: 'Group made' }, admin).expect(200);
    expect(done.body).to.include({ status: 'done', groupId });
    const timeline = done.body.timeline as Entry[];
    expect(timeline.map((e) => [e.event, e.from, e.status])).to.deep.equal([
      ['created', undefined, 'open'],
      ['changed', 'open', 'in_progress'],
      ['changed', 'in_progress', 'done'],
    ]);
    expect(timeline[1]).to.include({ note: 'Taken up', actor: `key:test support (${supportKeyId})` });
    expect(timeline[2]).to.include({ note: 'Group made', groupId });
    expect(timeline[2]!.actor).to.match(/^key:test admin \(key_[0-9a-f]{16}\)$/);
    expect(Date.parse(timeline[2]!.at)).to.be.at.least(Date.parse(timeline[1]!.at));
    const doc = await stored(req.id);
    expect(doc).to.include({ status: 'done', groupId, revision: 3 });
    expect(doc!.timeline).to.have.length(3);
    expect(await db.collection('request_changes').countDocuments({ requestId: req.id })).to.equal(2);
  });

  it('when done is asked without a group, then 400 names groupId; with a group that does not exist, then 422; and nothing changes', async () => {
    const req = await create();
    const missing = await patch(req.id, { status: 'done' }).expect(400);
    expect(missing.body.errors).to.deep.equal([{ path: 'groupId', message: 'is required when the status is done' }]);
    const unknown = await patch(req.id, { status: 'done', groupId: 'grp_0000000000000000' }).expect(422);
    expect(unknown.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(unknown.body.errors.map((e: { path: string }) => e.path)).to.deep.equal(['groupId']);
    const doc = await stored(req.id);
    expect(doc).to.include({ status: 'open', revision: 1 });
    expect(doc!.timeline).to.have.length(1);
  });

  it('when a move is not allowed, then 409 names the allowed ones and nothing changes; done and rejected reopen', async () => {
    const req = await create();
    await patch(req.id, { status: 'rejected', note: 'Not a group matter' }).expect(200);
    const refused = await patch(req.id, { status: 'done', groupId }).expect(409);
    expect(refused.body.detail).to.contain('rejected cannot become done').and.contain('open');
    expect(refused.body.errors).to.deep.equal([{ path: 'status', message: 'cannot move from rejected to done' }]);
    expect(await stored(req.id)).to.include({ status: 'rejected', revision: 2 });

    await patch(req.id, { status: 'open' }).expect(200);
    await patch(req.id, { status: 'done', groupId }).expect(200);
    await patch(req.id, { status: 'open' }).expect(409);
    await patch(req.id, { status: 'rejected' }).expect(409);
    const reopened = await patch(req.id, { status: 'in_progress', note: 'The group needs the Perth branch too' }).expect(200);
    expect(reopened.body).to.include({ status: 'in_progress', groupId });
    expect((reopened.body.timeline as Entry[]).map((e) => e.status)).to.deep.equal(['open', 'rejected', 'open', 'done', 'in_progress']);
  });

  it('when a PATCH only adds a note or changes nothing, then a note is one entry and nothing is none', async () => {
    const req = await create();
    const noted = await patch(req.id, { note: 'Asked Jane which branch' }).expect(200);
    expect(noted.body.status).to.equal('open');
    expect(noted.body.timeline[1]).to.include({ event: 'changed', status: 'open', note: 'Asked Jane which branch' });
    expect(noted.body.timeline[1]).to.not.have.property('from');
    const same = await patch(req.id, { status: 'open' }).expect(200);
    expect(same.body.timeline).to.have.length(2);
    expect(await stored(req.id)).to.include({ revision: 2 });
    const empty = await patch(req.id, {}).expect(400);
    expect(empty.body.errors).to.deep.equal([{ path: 'body', message: 'names nothing to change' }]);
  });

  it('when a PATCH replaces or removes the draft rule, then it is checked again and the timeline says so', async () => {
    const req = await create({ draftRule: validRule });
    const replaced = await patch(req.id, { draftRule: badRule }).expect(200);
    expect(replaced.body.draftRule).to.deep.equal(badRule);
    expect(replaced.body.draftRuleErrors).to.have.length.greaterThan(0);
    expect(replaced.body.timeline[1]).to.include({ draftRule: 'set' });
    const removed = await patch(req.id, { draftRule: null }).expect(200);
    expect(removed.body).to.not.have.any.keys('draftRule', 'draftRuleErrors');
    expect(removed.body.timeline[2]).to.include({ draftRule: 'cleared' });
    const doc = await stored(req.id);
    expect(doc!.draftRule).to.equal(null);
  });

  it('when the group of a request is unlinked while done, then 400; linked while open, then it shows', async () => {
    const req = await create();
    const linked = await patch(req.id, { groupId }).expect(200);
    expect(linked.body.groupId).to.equal(groupId);
    expect(linked.body.timeline[1]).to.include({ groupId });
    // Done with the group already on the request: no groupId needed in the PATCH.
    await patch(req.id, { status: 'done' }).expect(200);
    const unlink = await patch(req.id, { groupId: null }).expect(400);
    expect(unlink.body.errors).to.deep.equal([{ path: 'groupId', message: 'cannot be removed while the request is done' }]);
  });

  it('when two PATCHes race, then both land, each as its own timeline entry, or the loser is told', async () => {
    const req = await create();
    const results = await Promise.all([patch(req.id, { note: 'first' }), patch(req.id, { note: 'second' }), patch(req.id, { status: 'in_progress' })]);
    for (const r of results) expect(r.status).to.equal(200);
    const final = (await t.api.get(`/api/v1/requests/${req.id}`).set(support).expect(200)).body;
    expect((final.timeline as Entry[]).map((e) => e.note ?? e.status).slice(1)).to.have.members(['first', 'second', 'in_progress']);
    expect(final.status).to.equal('in_progress');
    expect(await stored(req.id)).to.include({ revision: 4 });
  });

  it('when a change was claimed but its process stopped before applying it, then the next read applies it once', async () => {
    const req = await create();
    const at = new Date();
    const entry = { at, actor: 'key:crashed (key_0000000000000000)', event: 'changed', status: 'in_progress', from: 'open' };
    await db.collection('request_changes').insertOne({ _id: `${req.id}:2` as never, requestId: req.id, revision: 2, set: { status: 'in_progress', updatedAt: at }, entry });
    const read = (await t.api.get(`/api/v1/requests/${req.id}`).set(support).expect(200)).body;
    expect(read.status).to.equal('in_progress');
    expect(read.timeline).to.have.length(2);
    const again = (await t.api.get(`/api/v1/requests/${req.id}`).set(support).expect(200)).body;
    expect(again.timeline).to.have.length(2);
    expect(await stored(req.id)).to.include({ status: 'in_progress', revision: 2 });
  });

  it('when listed with ?status=, then only that status shows, oldest first, paged by cursor', async () => {
    const a = await create({ title: 'filter a' });
    const b = await create({ title: 'filter b' });
    const c = await create({ title: 'filter c' });
    await patch(a.id, { status: 'rejected' }).expect(200);
    await patch(c.id, { status: 'rejected' }).expect(200);
    const rejected = await t.api.get('/api/v1/requests?status=rejected&limit=1000').set(support).expect(200);
    const ids = rejected.body.items.map((r: { id: string }) => r.id);
    expect(ids).to.include.members([a.id, c.id]).and.not.include(b.id);
    for (const r of rejected.body.items) expect(r.status).to.equal('rejected');
    expect(ids).to.deep.equal([...ids].sort());
    const stored = await db.collection('support_requests').countDocuments({ status: 'rejected' });
    expect(ids).to.have.length(stored);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: Array<{ id: string }>; nextCursor: string | null } } = await t.api.get(`/api/v1/requests?limit=2${cursor ? `&cursor=${cursor}` : ''}`).set(support).expect(200);
      expect(page.body.items.length).to.be.at.most(2);
      seen.push(...page.body.items.map((r) => r.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).to.have.length(await db.collection('support_requests').countDocuments());
    expect(new Set(seen).size).to.equal(seen.length);

    const bad = await t.api.get('/api/v1/requests?status=closed').set(support).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).to.deep.equal(['status']);
  });

  it('when a request id is malformed or unknown, then 400 or 404', async () => {
    await t.api.get('/api/v1/requests/nope').set(support).expect(400);
    await t.api.get('/api/v1/requests/req_00000000000000000000').set(support).expect(404);
    await patch('req_00000000000000000000', { note: 'x' }).expect(404);
  });

  it('when each role tries, then support and admin write, viewer reads, hr-feed and integration get 403', async () => {
    const req = await create();
    for (const role of ROLES) {
      const auth = await t.auth(role);
      const writes = role === 'admin' || role === 'support';
      const reads = writes || role === 'viewer';
      const created = await t.api.post('/api/v1/requests').set(auth).send({ title: `by ${role}`, description: 'x', requestedBy: 'y' });
      expect(created.status, `${role} POST`).to.equal(writes ? 201 : 403);
      expect((await patch(req.id, { note: `from ${role}` }, auth)).status, `${role} PATCH`).to.equal(writes ? 200 : 403);
      expect((await t.api.get('/api/v1/requests').set(auth)).status, `${role} list`).to.equal(reads ? 200 : 403);
      expect((await t.api.get(`/api/v1/requests/${req.id}`).set(auth)).status, `${role} GET`).to.equal(reads ? 200 : 403);
    }
    expect(await db.collection('support_requests').countDocuments({ title: { $in: ['by viewer', 'by hr-feed', 'by integration'] } })).to.equal(0);
    const notes = ((await stored(req.id))!.timeline as Entry[]).map((e) => e.note).filter(Boolean);
    expect(notes).to.deep.equal(['from admin', 'from support']);
  });
});
