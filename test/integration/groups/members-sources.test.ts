// Member sources: copy from a group or a branch (in the request, and as a job above the threshold, lowered here to
// 5 users) and the CSV association upload. Through HTTP against the real database, checking the stored memberships
// and history.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { storedState } from '../../helpers/stored-state.js';
import { createGroup, getGroup, historyOf, memberList, putUser, rules, syncGroup, uniq, userBody, waitForJob, defineField, type Auth } from '../membership/membership-helpers.js';
import { copyContext, copyUsers } from '../../../src/membership/members-copy.js';
import type { GroupDoc } from '../../../src/groups/group.model.js';

const THRESHOLD = 5;

describe('Member sources: copy (POST /groups/{id}/members/copy) and CSV association upload (POST /groups/{id}/members/import)', () => {
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  let viewer: Auth;
  before(async () => {
    t = await startTestService('members-sources', { COPY_JOB_THRESHOLD: String(THRESHOLD) });
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    viewer = await t.auth('viewer');
  });
  after(async () => t.stop());
  const db = () => t.service.database.db;
  const newUser = (overrides: Record<string, unknown> = {}) => putUser(t, hr, userBody(overrides));
  const copy = (groupId: string, body: unknown) => t.api.post(`/api/v1/groups/${groupId}/members/copy`).set(admin).send(body as object);
  const upload = (groupId: string, csv: string | Buffer, type = 'text/csv') =>
    t.api.post(`/api/v1/groups/${groupId}/members/import`).set(admin).set('Content-Type', type).send(csv);
  const stored = async (groupId: string) =>
    (await db().collection('memberships').find({ group: groupId } as never).toArray()).map((m) => `${m.externalId}:${m.source}`).sort();
  const addByHand = (groupId: string, externalId: string) => t.api.put(`/api/v1/groups/${groupId}/members/${externalId}`).set(admin).expect(201);
  const exclude = (groupId: string, externalId: string) => t.api.put(`/api/v1/groups/${groupId}/exclusions/${externalId}`).set(admin).expect(201);

  describe('copy', () => {
    it('when members are copied from a group, then they join with source copy and a history entry each; excluded users are left out; copying again changes nothing', async () => {
      const from = await createGroup(t, admin, { type: 'manual' });
      const to = await createGroup(t, admin, { type: 'manual' });
      const [a, b, c, d] = [await newUser(), await newUser(), await newUser(), await newUser()];
      for (const u of [a, b, c, d]) await addByHand(from.id, u);
      await addByHand(to.id, a);
      await exclude(to.id, d);
      const res = await copy(to.id, { fromGroup: from.id }).expect(200);
      expect(res.body).to.deep.equal({ added: 2, unchanged: 1, excluded: 1, inactive: 0 });
      expect(await stored(to.id)).to.deep.equal([`${a}:manual`, `${b}:copy`, `${c}:copy`].sort());
      const entries = (await historyOf(t, admin, to.id)).filter((e) => e.source === 'copy');
      expect(entries.map((e) => e.externalId).sort()).to.deep.equal([b, c].sort());
      for (const e of entries) expect(e).to.include({ action: 'added', reason: `copied from group ${from.id}` }).and.have.property('actor').that.is.a('string');
      expect((await getGroup(t, admin, to.id)).memberCount).to.equal(3);

      const before = await storedState(db());
      const again = await copy(to.id, { fromGroup: from.id }).expect(200);
      expect(again.body).to.deep.equal({ added: 0, unchanged: 3, excluded: 1, inactive: 0 });
      expect(await storedState(db())).to.deep.equal(before);
    });

    it('when members are copied from a branch, then exactly the users GET /users?branch= lists join; a branch nobody is in adds 0', async () => {
      const branch = uniq('Branch ');
      const inBranch = [await newUser({ branch }), await newUser({ branch })];
      await newUser({ branch: `${branch}x` });
      const listed = (await t.api.get('/api/v1/users').query({ branch }).set(admin).expect(200)).body.items.map((u: { externalId: string }) => u.externalId);
      expect(listed.sort()).to.deep.equal([...inBranch].sort());
      const to = await createGroup(t, admin, { type: 'manual' });
      const res = await copy(to.id, { fromBranch: branch }).expect(200);
      expect(res.body).to.include({ added: 2, unchanged: 0 });
      expect(await stored(to.id)).to.deep.equal(inBranch.map((u) => `${u}:copy`).sort());
      const entries = await historyOf(t, admin, to.id);
      expect(entries.map((e) => [e.externalId, e.source, e.reason]).sort()).to.deep.equal(inBranch.map((u) => [u, 'copy', `copied from branch ${branch}`]).sort());

      const empty = await copy(to.id, { fromBranch: uniq('Nobody ') }).expect(200);
      expect(empty.body).to.deep.equal({ added: 0, unchanged: 0, excluded: 0, inactive: 0 });
    });

    it('when both sources, neither, or a bad one is given, then a 400 naming both fields (or the bad one), 422 for an unknown group, 404 for an unknown target; nothing written', async () => {
      const from = await createGroup(t, admin, { type: 'manual' });
      const to = await createGroup(t, admin, { type: 'manual' });
      await addByHand(from.id, await newUser());
      const before = await storedState(db());
      for (const body of [{}, { fromGroup: from.id, fromBranch: 'London' }]) {
        const res = await copy(to.id, body).expect(400);
        expect(res.headers['content-type']).to.match(/application\/problem\+json/);
        expect(res.body.errors.map((e: { path: string }) => e.path).sort()).to.deep.equal(['fromBranch', 'fromGroup']);
      }
      const bad = await copy(to.id, { fromGroup: 'nope', fromBranch: '', other: 1 }).expect(400);
      expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).to.deep.equal(['fromBranch', 'fromGroup', 'other']);
      const unknown = await copy(to.id, { fromGroup: 'grp_0000000000000000' }).expect(422);
      expect(unknown.body.errors).to.deep.equal([{ path: 'fromGroup', message: 'no group has the id grp_0000000000000000' }]);
      await copy('grp_0000000000000000', { fromGroup: from.id }).expect(404);
      await t.api.post(`/api/v1/groups/${to.id}/members/copy`).set(viewer).send({ fromGroup: from.id }).expect(403);
      expect(await storedState(db())).to.deep.equal(before);
    });

    it(`when more than the threshold (${THRESHOLD}) are copied, then a job (202) copies them all with progress, and a re-run of its writes adds nothing twice`, async () => {
      const branch = uniq('Big ');
      const users: string[] = [];
      for (let i = 0; i < THRESHOLD + 3; i++) users.push(await newUser({ branch }));
      const to = await createGroup(t, admin, { type: 'manual' });
      const res = await copy(to.id, { fromBranch: branch }).expect(202);
      expect(res.headers.location).to.equal(`/api/v1/jobs/${res.body.jobId}`);
      const job = await waitForJob(t, admin, res.body.jobId as string);
      expect(job.result).to.deep.equal({ added: users.length, unchanged: 0, excluded: 0, inactive: 0 });
      expect(job.progress).to.deep.equal({ done: users.length, total: users.length });
      expect(await stored(to.id)).to.deep.equal(users.map((u) => `${u}:copy`).sort());
      expect((await getGroup(t, admin, to.id)).memberCount).to.equal(users.length);

      // The job run again with its own run key and instant (two workers, or a worker that died): the same documents,
      // its additions reported as its own, one history entry each; a history entry lost in a crash is written again.
      const first = await db().collection('memberships').findOne({ group: to.id } as never);
      const ctx = copyContext({ fromBranch: branch }, 'test', first!.run as string, first!.addedAt as Date);
      await db().collection('history').deleteOne({ group: to.id, externalId: users[0] } as never);
      const group = (await db().collection('groups').findOne({ _id: to.id } as never)) as unknown as GroupDoc;
      const rerun = await copyUsers(group, users.map((u) => ({ _id: u, status: 'active' })), ctx);
      expect(rerun).to.deep.equal({ added: users.length, unchanged: 0, excluded: 0, inactive: 0 });
      const entries = await historyOf(t, admin, to.id);
      expect(entries.map((e) => e.externalId).sort()).to.deep.equal([...users].sort());
      expect((await getGroup(t, admin, to.id)).memberCount).to.equal(users.length);
    });

    it('when members are copied into an automatic group, then inactive users are left out unless it includes them, and manualMembers decides at the next sync', async () => {
      await defineField(t, hr, 'team', { label: 'Team', type: 'text' });
      const branch = uniq('Auto ');
      const learner = await newUser({ branch, type: 'learner' });
      const staff = await newUser({ branch, type: 'staff' });
      await newUser({ branch, status: 'inactive' });
      const matching = await newUser({ branch, fields: { team: 'blue' } });
      const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', 'blue'), manualMembers: 'keep-staff' });
      const res = await copy(group.id, { fromBranch: branch }).expect(200);
      expect(res.body).to.deep.equal({ added: 2, unchanged: 1, excluded: 0, inactive: 1 });
      expect(await stored(group.id)).to.deep.equal([`${learner}:copy`, `${staff}:copy`, `${matching}:rule`].sort());
      await syncGroup(t, admin, group.id);
      expect(await stored(group.id), 'keep-staff: the staff member stays, the learner leaves').to.deep.equal([`${staff}:copy`, `${matching}:rule`].sort());
    });
  });

  describe('CSV association upload', () => {
    it('when the CSV has good and bad rows, then every good row is applied, each bad one reported by line, blank lines skipped, a repeated user unchanged, emails in any case', async () => {
      const group = await createGroup(t, admin, { type: 'manual' });
      const a = await newUser();
      const bEmail = `Mixed.${uniq('')}@Example.com`;
      const b = await newUser({ email: bEmail.toLowerCase() });
      const c = await newUser();
      const excluded = await newUser();
      await exclude(group.id, excluded);
      const csv = [
        'externalId,email,note', // 1
        `${a},,first`, // 2: added
        '', // 3: blank
        `,${bEmail.toUpperCase()},upper`, // 4: added by email, any case
        'nobody-here,,unknown', // 5: failed
        `${a},,again`, // 6: unchanged (repeated)
        ',,', // 7: no cell filled: blank
        `,${b.toUpperCase()}@nowhere.example,`, // 8: failed (unknown email)
        `${c},someone.else@example.com,`, // 9: failed (email of another user)
        `${excluded},,`, // 10: failed (excluded)
        `,,just a note`, // 11: failed (names no user)
      ].join('\r\n');
      const res = await upload(group.id, csv).expect(200);
      expect(res.body).to.include({ added: 2, unchanged: 1, failed: 5 });
      expect(res.body.errors.map((e: { line: number }) => e.line)).to.deep.equal([5, 8, 9, 10, 11]);
      expect(res.body.errors[0]).to.deep.equal({ line: 5, externalId: 'nobody-here', errors: [{ path: 'externalId', message: 'no user has the externalId nobody-here' }] });
      expect(res.body.errors[2]).to.deep.include({ line: 9, externalId: c, email: 'someone.else@example.com' });
      expect(res.body.errors[3].errors[0].message).to.match(/excluded/);
      expect(await stored(group.id)).to.deep.equal([`${a}:csv`, `${b}:csv`].sort());
      const entries = await historyOf(t, admin, group.id, { action: 'added' });
      expect(entries.map((e) => [e.externalId, e.source, e.reason]).sort()).to.deep.equal([[a, 'csv', 'added by CSV upload'], [b, 'csv', 'added by CSV upload']].sort());
      expect((await getGroup(t, admin, group.id)).memberCount).to.equal(2);
    });

    it('when the same file is sent twice, then the second changes nothing (added 0, unchanged n)', async () => {
      const group = await createGroup(t, admin, { type: 'manual' });
      const users = [await newUser(), await newUser(), await newUser()];
      const csv = `externalId\n${users.join('\n')}\n`;
      expect((await upload(group.id, csv).expect(200)).body).to.deep.equal({ added: 3, unchanged: 0, failed: 0, errors: [] });
      const before = await storedState(db());
      expect((await upload(group.id, csv).expect(200)).body).to.deep.equal({ added: 0, unchanged: 3, failed: 0, errors: [] });
      expect(await storedState(db())).to.deep.equal(before);
    });

    it('when a members.csv export is sent back, then it is taken as it is (other columns ignored)', async () => {
      const from = await createGroup(t, admin, { type: 'manual' });
      const users = [await newUser(), await newUser()];
      for (const u of users) await addByHand(from.id, u);
      const exported = (await t.api.get(`/api/v1/groups/${from.id}/members.csv`).set(admin).buffer(true).parse((r, cb) => {
        let s = '';
        r.on('data', (d: Buffer) => (s += d.toString()));
        r.on('end', () => cb(null, s));
      }).expect(200)).body as string;
      const to = await createGroup(t, admin, { type: 'manual' });
      expect((await upload(to.id, exported).expect(200)).body).to.include({ added: 2, failed: 0 });
    });

    it('when the header has neither an externalId nor an email column, or names a column twice, then 400 naming them; larger than 3 MB 413; not CSV 415; nothing written', async () => {
      const group = await createGroup(t, admin, { type: 'manual' });
      const user = await newUser();
      const before = await storedState(db());
      const res = await upload(group.id, `id,name\n${user},x\n`).expect(400);
      expect(res.headers['content-type']).to.match(/application\/problem\+json/);
      expect(res.body.errors.map((e: { path: string }) => e.path).sort()).to.deep.equal(['email', 'externalId']);
      await upload(group.id, '').expect(400);
      // A column named twice: which one names the users would be a guess.
      const twice = await upload(group.id, `externalId,externalId\n${user},someone-else\n`).expect(400);
      expect(twice.body.errors).to.deep.equal([{ path: 'externalId', message: 'is a column named twice' }]);
      const big = `externalId\n${`${user}\n`.repeat(Math.ceil((3 * 1024 * 1024) / (user.length + 1)) + 10)}`;
      const tooLarge = await upload(group.id, big).expect(413);
      expect(tooLarge.headers['content-type']).to.match(/application\/problem\+json/);
      await t.api.post(`/api/v1/groups/${group.id}/members/import`).set(admin).send({ externalId: user }).expect(415);
      await upload('grp_0000000000000000', `externalId\n${user}\n`).expect(404);
      await upload('not-a-group', `externalId\n${user}\n`).expect(400);
      await t.api.post(`/api/v1/groups/${group.id}/members/import`).set(viewer).set('Content-Type', 'text/csv').send(`externalId\n${user}\n`).expect(403);
      expect(await storedState(db())).to.deep.equal(before);
    });

    it('when users are uploaded to an automatic group, then they join with source csv and the manualMembers policy decides at the next sync; inactive ones fail', async () => {
      await defineField(t, hr, 'squad', { label: 'Squad', type: 'text' });
      const staff = await newUser({ type: 'staff' });
      const learner = await newUser({ type: 'learner' });
      const inactive = await newUser({ status: 'inactive' });
      const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('squad', 'red'), manualMembers: 'keep-staff' });
      const res = await upload(group.id, `externalId\n${staff}\n${learner}\n${inactive}\n`).expect(200);
      expect(res.body).to.include({ added: 2, unchanged: 0, failed: 1 });
      expect(res.body.errors).to.deep.equal([{ line: 4, externalId: inactive, errors: [{ path: 'row', message: `user ${inactive} is inactive and this group does not include inactive users` }] }]);
      expect(await stored(group.id)).to.deep.equal([`${staff}:csv`, `${learner}:csv`].sort());
      await syncGroup(t, admin, group.id);
      expect(await stored(group.id)).to.deep.equal([`${staff}:csv`]);
      const removed = await historyOf(t, admin, group.id, { action: 'removed' });
      expect(removed.map((e) => [e.externalId, e.source])).to.deep.equal([[learner, 'csv']]);
      const members = await memberList(t, admin, group.id);
      expect(members.map((m) => m.source)).to.deep.equal(['csv']);
    });
  });

  describe('branches', () => {
    it('when users have branches, then the rule catalogue lists the branches in use, sorted, under the user fact\'s $.branch path', async () => {
      const branches = [uniq('Zeta '), uniq('Alpha ')];
      for (const branch of branches) await newUser({ branch });
      await newUser();
      const res = await t.api.get('/api/v1/rules/facts').set(admin).expect(200);
      const user = res.body.items.find((f: { name: string }) => f.name === 'user');
      const path = user.paths.find((p: { path: string }) => p.path === '$.branch');
      expect(path).to.include({ type: 'text', optional: true });
      expect(path.values).to.include.members(branches);
      expect(path.values).to.deep.equal([...path.values].sort((a: string, b: string) => a.localeCompare(b)));
      expect(path.values.every((v: unknown) => typeof v === 'string' && v !== '')).to.equal(true);
      expect(path).to.not.have.property('valuesTruncated');
    });
  });

  describe('export of a large group (users streamed and merged with the memberships)', () => {
    let x: TestService;
    before(async () => {
      x = await startTestService('members-export');
    });
    after(async () => x.stop());

    it('when most of the directory is in the group, then every member has their row in externalId order, one whose user is gone with empty user cells', async () => {
      const xadmin = await x.auth('admin');
      const xhr = await x.auth('hr-feed');
      const ids = ['a-1', 'B-2', 'b.3', 'c@4', 'Z+5', '0-6', 'm-7'];
      for (const id of ids) await putUser(x, xhr, userBody({ externalId: id, firstName: `F ${id}`, lastName: 'L, "q"' }));
      await putUser(x, xhr, userBody()); // not a member: the merge steps over them
      const group = await createGroup(x, xadmin, { type: 'manual' });
      const small = await createGroup(x, xadmin, { type: 'manual' });
      for (const id of ids) await x.api.put(`/api/v1/groups/${group.id}/members/${id}`).set(xadmin).expect(201);
      await x.api.put(`/api/v1/groups/${small.id}/members/${ids[2]}`).set(xadmin).expect(201);
      // A user removed behind the API (as if deleted while the export runs): the membership stays, its cells empty.
      await x.service.database.db.collection('users').deleteOne({ _id: 'c@4' } as never);
      const users = new Map((await x.service.database.db.collection('users').find({}).toArray()).map((u) => [u._id as unknown as string, u]));
      const stored = await x.service.database.db.collection('memberships').find({}).toArray();
      const expected = (groupId: string) =>
        stored
          .filter((m) => m.group === groupId)
          .map((m) => m.externalId as string)
          .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
          .map((id) => {
            const u = users.get(id);
            const m = stored.find((d) => d.group === groupId && d.externalId === id)!;
            const cell = (v: unknown) => (v === undefined ? '' : /[",\r\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
            return [id, cell(u?.email), cell(u?.firstName), cell(u?.lastName), 'manual', (m.addedAt as Date).toISOString()].join(',');
          });
      for (const g of [group.id, small.id]) {
        const res = await x.api.get(`/api/v1/groups/${g}/members.csv`).set(xadmin).expect(200);
        const lines = res.text.split('\r\n');
        expect(lines[0]).to.equal('externalId,email,firstName,lastName,source,addedAt');
        expect(lines.slice(1, -1), g).to.deep.equal(expected(g));
        expect(lines.at(-1)).to.equal('');
      }
      expect(expected(group.id).find((l) => l.startsWith('c@4,'))).to.match(/^c@4,,,,manual,/);
    });
  });
});
