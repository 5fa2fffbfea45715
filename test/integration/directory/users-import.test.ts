import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { defineFields, pathsOf, recordChanges, snapshot } from './directory-helpers.js';

describe('Directory: CSV import (POST /users/import)', () => {
  let t: TestService;
  let hr: { Authorization: string };
  before(async () => {
    t = await startTestService('csv');
    hr = await t.auth('hr-feed');
    await defineFields(t);
  });
  after(async () => t.stop());
  const users = () => t.service.database.db.collection('users');
  const upload = (csv: string | Buffer, type = 'text/csv') => t.api.post('/api/v1/users/import').set(hr).set('Content-Type', type).send(csv);

  it('when a CSV with a BOM, CRLF line ends, quoted values and fields.<key> columns is imported, then every row is a user with typed fields', async () => {
    const csv =
      '\uFEFFexternalId,email,firstName,lastName,type,status,branch,fields.department,fields.employeeNumber,fields.isManager,fields.hireDate,fields.jobTitle\r\n' +
      'C1,c1@example.com,"Ana","Silva, Jr.",learner,active,north,Sales,41,true,2021-03-04,"Driver ""Class A"""\r\n' +
      'C2,c2@example.com,Ben,"Multi\r\nLine",staff,,,,,FALSE,,\r\n';
    const res = await upload(Buffer.from(csv, 'utf8')).expect(200);
    expect(res.body).to.deep.equal({ created: 2, updated: 0, unchanged: 0, failed: 0, errors: [] });
    const c1 = await users().findOne({ _id: 'C1' as never });
    expect(c1).to.include({ lastName: 'Silva, Jr.', branch: 'north', status: 'active', type: 'learner' });
    expect(c1!.fields).to.deep.equal({ department: 'Sales', employeeNumber: 41, isManager: true, hireDate: '2021-03-04', jobTitle: 'Driver "Class A"' });
    const c2 = await users().findOne({ _id: 'C2' as never });
    expect(c2).to.include({ lastName: 'Multi\r\nLine', status: 'active', type: 'staff' });
    expect(c2).to.not.have.property('branch');
    expect(c2!.fields).to.deep.equal({ isManager: false });
  });

  it('when the same CSV (LF, no BOM) is imported twice, then the second time every row is unchanged and nothing is announced', async () => {
    const csv = 'externalId,email,firstName,lastName,type,fields.employeeNumber\nD1,d1@example.com,Dan,Lee,learner,1\nD2,d2@example.com,Eve,Ng,staff,2\n';
    expect((await upload(csv).expect(200)).body).to.include({ created: 2 });
    const stored = await users().find({ _id: { $in: ['D1', 'D2'] as never[] } }).sort({ _id: 1 }).toArray();
    const changes = recordChanges(t);
    try {
      expect((await upload(csv).expect(200)).body).to.deep.equal({ created: 0, updated: 0, unchanged: 2, failed: 0, errors: [] });
      expect((await changes.writes())).to.deep.equal([]);
    } finally {
      changes.stop();
    }
    expect(await users().find({ _id: { $in: ['D1', 'D2'] as never[] } }).sort({ _id: 1 }).toArray()).to.deep.equal(stored);
  });

  it('when rows are ragged or hold bad values, then each such row is reported by its CSV line (header = 1) and the good rows apply', async () => {
    const csv = [
      'externalId,email,firstName,lastName,type,fields.employeeNumber,fields.hireDate,fields.department',
      'R1,r1@example.com,Ria,Das,learner,5,2020-01-01,Sales',
      'R2,r2@example.com,Raj,Das,learner', // too few values
      'R3,r3@example.com,Ron,Das,learner,5,2020-01-01,Sales,extra', // too many
      'R4,r4@example.com,Rui,Das,learner,five,2020-02-31,Marketing', // three bad values
      'R5,not-an-email,Rob,Das,alien,,,', // two bad standard values
    ].join('\n');
    const res = await upload(csv).expect(200);
    expect(res.body).to.include({ created: 1, failed: 4 });
    expect(res.body.errors.map((e: { line: number }) => e.line)).to.deep.equal([3, 4, 5, 6]);
    for (const e of res.body.errors) expect(e).to.not.have.property('index');
    const byLine = Object.fromEntries(res.body.errors.map((e: { line: number }) => [e.line, e]));
    expect(pathsOf(byLine[3])).to.deep.equal(['row']);
    expect(byLine[3].externalId).to.equal('R2');
    expect(byLine[3].errors[0].message).to.equal('has 5 values; the header has 8');
    expect(pathsOf(byLine[4])).to.deep.equal(['row']);
    expect(pathsOf(byLine[5])).to.have.members(['fields.employeeNumber', 'fields.hireDate', 'fields.department']);
    expect(pathsOf(byLine[6])).to.have.members(['email', 'type']);
    expect(await users().countDocuments({ _id: { $in: ['R2', 'R3', 'R4', 'R5'] as never[] } })).to.equal(0);
    expect(await users().countDocuments({ _id: 'R1' as never })).to.equal(1);
  });

  it('when rows span lines (quoted CRLF line breaks) or blank lines are skipped, then errors name the line where the row starts, and duplicates name each other by line', async () => {
    const csv = [
      'externalId,email,firstName,lastName,type', // line 1
      'L1,l1@example.com,Lia,"Two\r\nLines",learner', // lines 2-3
      '', // line 4, skipped
      'L2,l2@example.com,Leo,"Three\r\nWhole\r\nLines",alien', // lines 5-7: bad type
      'L3,bad-email,Lou,Ng,learner', // line 8
      'L4,l4@example.com,Lu,Ng,learner', // line 9
      'L4,l4b@example.com,Lu,Ng,learner', // line 10: same externalId as line 9
    ].join('\r\n') + '\r\n';
    const res = await upload(csv).expect(200);
    expect(res.body).to.include({ created: 1, failed: 4 });
    expect(res.body.errors.map((e: { line: number; externalId: string }) => [e.line, e.externalId])).to.deep.equal([[5, 'L2'], [8, 'L3'], [9, 'L4'], [10, 'L4']]);
    expect(pathsOf(res.body.errors[0])).to.deep.equal(['type']);
    expect(res.body.errors[2].errors[0].message).to.equal('this externalId is also in line 10 of this CSV; none of them was applied');
    expect(res.body.errors[3].errors[0].message).to.equal('this externalId is also in line 9 of this CSV; none of them was applied');
    expect(await users().findOne({ _id: 'L1' as never })).to.include({ lastName: 'Two\r\nLines' });
    expect(await users().countDocuments({ _id: { $in: ['L2', 'L3', 'L4'] as never[] } })).to.equal(0);
  });

  it('when a JSON batch has duplicates, then it still names records by index', async () => {
    const user = (email: string) => ({ externalId: 'J1', email, firstName: 'J', lastName: 'K', type: 'learner' });
    const res = await t.api.post('/api/v1/users/batch').set(hr).send({ users: [user('j1@example.com'), user('j2@example.com')] }).expect(200);
    expect(res.body.errors.map((e: { index: number }) => e.index)).to.deep.equal([0, 1]);
    expect(res.body.errors[0].errors[0].message).to.equal('this externalId is also in record 1 of this batch; none of them was applied');
  });

  it('when the header names an unknown column, an undefined field or lacks a required column, then 400 names each and nothing is written', async () => {
    const before = await snapshot(t.service.database.db);
    const res = await upload('externalId,email,firstName,type,nickname,fields.shoeSize\nZ1,z@e.com,Zed,learner,zz,44\n').expect(400);
    expect(pathsOf(res.body)).to.have.members(['nickname', 'fields.shoeSize', 'lastName']);
    const twice = await upload('externalId,email,firstName,lastName,type,email\n').expect(400);
    expect(pathsOf(twice.body)).to.deep.equal(['email']);
    expect(await snapshot(t.service.database.db)).to.deep.equal(before);
  });

  it('when the CSV is empty, broken or not text/csv, then 400 or 415', async () => {
    expect(pathsOf((await upload('').expect(400)).body)).to.deep.equal(['body']);
    const broken = await upload('externalId,email,firstName,lastName,type\n"B1,b@e.com,B,C,learner\n').expect(400);
    expect(pathsOf(broken.body)).to.deep.equal(['body']);
    await upload('externalId,email\n', 'application/octet-stream').expect(415);
    await t.api.post('/api/v1/users/import').set(hr).send({ users: [] }).expect(415);
  });

  it('when the CSV is larger than 3 MB, then 413 and nothing is written', async () => {
    const before = await snapshot(t.service.database.db);
    const header = 'externalId,email,firstName,lastName,type,fields.jobTitle\n';
    const row = (i: number) => `BIG${i},big${i}@example.com,First,Last,learner,${'x'.repeat(300)}\n`;
    let csv = header;
    for (let i = 0; csv.length <= 3 * 1024 * 1024; i++) csv += row(i);
    const res = await upload(csv).expect(413);
    expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(await snapshot(t.service.database.db)).to.deep.equal(before);
  });

  it('when the CSV has more than 10,000 rows, then 413', async () => {
    let csv = 'externalId,email,firstName,lastName,type\n';
    for (let i = 0; i <= 10_000; i++) csv += `M${i},m${i}@e.co,A,B,learner\n`;
    await upload(csv).expect(413);
    expect(await users().countDocuments({ _id: 'M0' as never })).to.equal(0);
  });

  it('when a viewer imports, then 403', async () => {
    await t.api.post('/api/v1/users/import').set(await t.auth('viewer')).set('Content-Type', 'text/csv').send('externalId\n').expect(403);
  });
});
