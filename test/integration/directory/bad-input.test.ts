// The bad-input table: every row is a distinct bad request, answered 4xx as a problem document naming the
// offending input, with the directory's collections unchanged afterwards (count and content hash).
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { aUser, defineFields, pathsOf, snapshot } from './directory-helpers.js';

type Method = 'put' | 'patch' | 'post' | 'get' | 'delete';
interface Row {
  name: string;
  method: Method;
  path: string;
  body?: unknown;
  /** Sent as is, with this content type (for malformed and non-JSON bodies). */
  raw?: { type: string; text: string };
  query?: Record<string, string | number>;
  status: number;
  /** The paths the problem's errors must name (exactly these); a function for paths that depend on depth. */
  paths?: string[] | ((paths: string[]) => boolean);
}

const OWNER = 'bad-owner';
const OWNER_EMAIL = 'owner@example.com';
const deep = (levels: number): Record<string, unknown> => {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
};
const person = (extra: Record<string, unknown> = {}) => {
  const { externalId: _id, ...u } = aUser();
  return { ...u, ...extra };
};
const withFields = (fields: Record<string, unknown>) => person({ fields });

const rows: Row[] = [
  { name: 'a string attribute given as a number', method: 'put', path: '/users/b1', body: person({ firstName: 42 }), status: 400, paths: ['firstName'] },
  { name: 'an unknown top-level attribute', method: 'put', path: '/users/b1', body: person({ nickname: 'Bo' }), status: 400, paths: ['nickname'] },
  { name: 'a $-prefixed key', method: 'put', path: '/users/b1', body: person({ $where: 'sleep(1000)' }), status: 400, paths: ['$where'] },
  { name: 'a dotted field key', method: 'put', path: '/users/b1', body: withFields({ 'a.b': 1 }), status: 400, paths: ['fields.a.b'] },
  { name: 'a $-prefixed field key', method: 'put', path: '/users/b1', body: withFields({ $gt: '' }), status: 400, paths: ['fields.$gt'] },
  { name: 'an operator object as a value', method: 'patch', path: `/users/${OWNER}`, body: { email: { $ne: null } }, status: 400, paths: ['email.$ne'] },
  { name: 'a huge string', method: 'put', path: '/users/b1', body: person({ lastName: 'x'.repeat(100_000) }), status: 400, paths: ['lastName'] },
  { name: 'an object nested 40 deep', method: 'put', path: '/users/b1', body: withFields({ jobTitle: deep(40) }), status: 400, paths: (p) => p.length === 1 && p[0]!.startsWith('fields.jobTitle.a.a') },
  { name: 'malformed JSON', method: 'put', path: '/users/b1', raw: { type: 'application/json', text: '{"email": "a@b.c",' }, status: 400, paths: ['body'] },
  { name: 'a form body instead of JSON', method: 'put', path: '/users/b1', raw: { type: 'application/x-www-form-urlencoded', text: 'email=a%40b.c' }, status: 415 },
  { name: 'a body that is an array', method: 'put', path: '/users/b1', body: [person()], status: 400, paths: ['body'] },
  { name: 'an invalid email', method: 'put', path: '/users/b1', body: person({ email: 'not-an-email' }), status: 400, paths: ['email'] },
  { name: 'a user type outside the enum', method: 'put', path: '/users/b1', body: person({ type: 'robot' }), status: 400, paths: ['type'] },
  { name: 'a status outside the enum', method: 'put', path: '/users/b1', body: person({ status: 'gone' }), status: 400, paths: ['status'] },
  { name: 'every required attribute missing', method: 'put', path: '/users/b1', body: { branch: 'north' }, status: 400, paths: ['email', 'firstName', 'lastName', 'type'] },
  { name: 'an undefined field key', method: 'put', path: '/users/b1', body: withFields({ shoeSize: 44 }), status: 400, paths: ['fields.shoeSize'] },
  { name: 'a number field given text', method: 'put', path: '/users/b1', body: withFields({ employeeNumber: '12' }), status: 400, paths: ['fields.employeeNumber'] },
  { name: 'a number field given an overflowing number', method: 'put', path: '/users/b1', raw: { type: 'application/json', text: JSON.stringify(withFields({ employeeNumber: 0 })).replace('"employeeNumber":0', '"employeeNumber":1e400') }, status: 400, paths: ['fields.employeeNumber'] },
  { name: 'a boolean field given "yes"', method: 'put', path: '/users/b1', body: withFields({ isManager: 'yes' }), status: 400, paths: ['fields.isManager'] },
  { name: 'an impossible date', method: 'put', path: '/users/b1', body: withFields({ hireDate: '2025-02-30' }), status: 400, paths: ['fields.hireDate'] },
  { name: 'a date in another format', method: 'put', path: '/users/b1', body: withFields({ hireDate: '15/01/2020' }), status: 400, paths: ['fields.hireDate'] },
  { name: 'a value outside a select', method: 'put', path: '/users/b1', body: withFields({ department: 'Marketing' }), status: 400, paths: ['fields.department'] },
  { name: 'a text field value over 1000 characters', method: 'put', path: '/users/b1', body: withFields({ jobTitle: 'y'.repeat(1001) }), status: 400, paths: ['fields.jobTitle'] },
  { name: 'an array as a field value', method: 'put', path: '/users/b1', body: withFields({ jobTitle: ['a', 'b'] }), status: 400, paths: ['fields.jobTitle'] },
  { name: 'several bad fields at once', method: 'put', path: '/users/b1', body: person({ type: 'x', fields: { hireDate: '2024-13-01', department: 'Nope', shoeSize: 1 } }), status: 400, paths: ['type', 'fields.hireDate', 'fields.department', 'fields.shoeSize'] },
  { name: 'an externalId the path rule refuses', method: 'put', path: '/users/-leading-dash', body: person(), status: 400, paths: ['externalId'] },
  { name: 'a body externalId that contradicts the path', method: 'put', path: '/users/b1', body: person({ externalId: 'b2' }), status: 400, paths: ['externalId'] },
  { name: 'fields that are not an object', method: 'patch', path: `/users/${OWNER}`, body: { fields: 'department=Sales' }, status: 400, paths: ['fields'] },
  { name: 'another user’s email in another case', method: 'put', path: '/users/b1', body: person({ email: OWNER_EMAIL.toUpperCase() }), status: 409, paths: ['email'] },
  { name: 'a JSON body over 1 MB', method: 'put', path: '/users/b1', body: person({ lastName: 'z'.repeat(1_100_000) }), status: 413 },
  { name: 'a batch over 10,000 records', method: 'post', path: '/users/batch', body: { users: Array.from({ length: 10_001 }, () => ({})) }, status: 413 },
  { name: 'a batch body over 32 MB', method: 'post', path: '/users/batch', raw: { type: 'application/json', text: `{"users":["${'q'.repeat(33 * 1024 * 1024)}"]}` }, status: 413 },
  { name: 'a batch whose users is not an array', method: 'post', path: '/users/batch', body: { users: { a: 1 } }, status: 400, paths: ['users'] },
  { name: 'a batch with an extra $ key', method: 'post', path: '/users/batch', body: { users: [], $inc: 1 }, status: 400, paths: ['$inc'] },
  { name: 'a batch sent as text', method: 'post', path: '/users/batch', raw: { type: 'text/plain', text: 'users' }, status: 415 },
  { name: 'a CSV with an unknown column', method: 'post', path: '/users/import', raw: { type: 'text/csv', text: 'externalId,email,firstName,lastName,type,favouriteColour\nc1,c1@e.co,A,B,learner,red\n' }, status: 400, paths: ['favouriteColour'] },
  { name: 'a CSV over 3 MB', method: 'post', path: '/users/import', raw: { type: 'text/csv', text: 'externalId,email,firstName,lastName,type\n' + 'c,c@e.co,A,B,learner\n'.repeat(160_000) }, status: 413 },
  { name: 'a CSV sent as JSON', method: 'post', path: '/users/import', body: { csv: 'externalId\n' }, status: 415 },
  { name: 'a field key with a dot', method: 'put', path: '/fields/a.b', body: { label: 'A', type: 'text' }, status: 400, paths: ['key'] },
  { name: 'a select field without options', method: 'put', path: '/fields/colour', body: { label: 'Colour', type: 'select' }, status: 400, paths: ['options'] },
  { name: 'a field type that does not exist', method: 'put', path: '/fields/colour', body: { label: 'Colour', type: 'color', extra: true }, status: 400, paths: ['type', 'extra'] },
  { name: 'a course without a title', method: 'put', path: '/courses/NEW-1', body: {}, status: 400, paths: ['title'] },
  { name: 'a course code with a dot', method: 'put', path: '/courses/NEW.1', body: { title: 'x' }, status: 400, paths: ['code'] },
  { name: 'an enrolment with a bad status, role and mode', method: 'put', path: `/courses/BAD-101/enrollments/${OWNER}`, body: { status: 'done', role: 'boss', mode: 'hybrid' }, status: 400, paths: ['status', 'role', 'mode'] },
  { name: 'an enrolment with an unknown key', method: 'put', path: `/courses/BAD-101/enrollments/${OWNER}`, body: { status: 'completed', grade: 'A' }, status: 400, paths: ['grade'] },
  { name: 'an enrolment of a missing user', method: 'put', path: '/courses/BAD-101/enrollments/nobody', body: { status: 'completed' }, status: 404, paths: ['externalId'] },
  { name: 'a list limit over 1000', method: 'get', path: '/users', query: { limit: 5000 }, status: 400, paths: ['limit'] },
  { name: 'a cursor this service did not issue', method: 'get', path: '/users', query: { cursor: 'garbage' }, status: 400, paths: ['cursor'] },
  { name: 'a filter on an undefined field', method: 'get', path: '/users', query: { 'field.shoeSize': 44 }, status: 400, paths: ['field.shoeSize'] },
  { name: 'an unknown list filter', method: 'get', path: '/users', query: { $where: '1' }, status: 400, paths: ['$where'] },
];

describe('Directory: the bad-input table', () => {
  let t: TestService;
  let hr: { Authorization: string };
  before(async () => {
    t = await startTestService('badinput');
    hr = await t.auth('hr-feed');
    await defineFields(t);
    await t.api.put('/api/v1/courses/BAD-101').set(hr).send({ title: 'Bad input' }).expect(201);
    await t.api.put(`/api/v1/users/${OWNER}`).set(hr).send(person({ email: OWNER_EMAIL, fields: { department: 'Sales' } })).expect(201);
  });
  after(async () => t.stop());

  it(`has at least 30 distinct bad requests (${rows.length})`, () => {
    expect(rows.length).to.be.at.least(30);
    expect(new Set(rows.map((r) => r.name)).size).to.equal(rows.length);
  });

  for (const row of rows) {
    it(`when ${row.name}, then ${row.status}${Array.isArray(row.paths) ? ` naming ${row.paths.join(', ')}` : ''}, and nothing changes`, async () => {
      const before = await snapshot(t.service.database.db);
      let req = t.api[row.method](`/api/v1${row.path}`).set(hr);
      if (row.query) req = req.query(row.query);
      if (row.raw) req = req.set('Content-Type', row.raw.type).send(row.raw.text);
      else if (row.body !== undefined) req = req.send(row.body as object);
      const res = await req;
      expect(res.status, JSON.stringify(res.body).slice(0, 500)).to.equal(row.status);
      expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(res.body).to.include({ status: row.status });
      if (typeof row.paths === 'function') expect(row.paths(pathsOf(res.body)), JSON.stringify(pathsOf(res.body))).to.equal(true);
      else if (row.paths) expect(pathsOf(res.body)).to.have.members(row.paths);
      expect(await snapshot(t.service.database.db)).to.deep.equal(before);
    });
  }

  // Records of a batch or rows of a CSV are refused one by one (the batch answers 200 with each failure by
  // index, as API.md says); a batch whose every record is bad changes nothing at all.
  const rejected: Array<{ name: string; send: () => Promise<{ status: number; body: { failed: number; errors: Array<{ index: number; errors: Array<{ path: string }> }> } }>; paths: string[][] }> = [
    {
      name: 'two records of one batch share an email (in different case)',
      send: () => t.api.post('/api/v1/users/batch').set(hr).send({ users: [aUser({ email: 'twin@example.com' }), aUser({ email: 'TWIN@example.com' })] }),
      paths: [['email'], ['email']],
    },
    {
      name: 'two records of one batch share an externalId',
      send: () => t.api.post('/api/v1/users/batch').set(hr).send({ users: [aUser({ externalId: 'twin-id' }), aUser({ externalId: 'twin-id' })] }),
      paths: [['externalId'], ['externalId']],
    },
    {
      name: 'a record takes the email of a stored user',
      send: () => t.api.post('/api/v1/users/batch').set(hr).send({ users: [aUser({ email: OWNER_EMAIL })] }),
      paths: [['email']],
    },
    {
      name: 'records carry $ keys, dotted keys, bad dates and no externalId',
      send: () =>
        t.api.post('/api/v1/users/batch').set(hr).send({
          users: [aUser({ $set: { type: 'staff' } }), aUser({ fields: { 'x.y': 1 } }), aUser({ fields: { hireDate: '2023-04-31' } }), { ...aUser(), externalId: undefined }, null],
        }),
      paths: [['$set'], ['fields.x.y'], ['fields.hireDate'], ['externalId'], ['record']],
    },
    {
      name: 'CSV rows are ragged',
      send: () => t.api.post('/api/v1/users/import').set(hr).set('Content-Type', 'text/csv').send('externalId,email,firstName,lastName,type\nr1,r1@e.co,A,B\nr2,r2@e.co,A,B,learner,extra\n'),
      paths: [['row'], ['row']],
    },
    {
      name: 'enrolment records name a missing course, a missing user and a bad status',
      send: () =>
        t.api.post('/api/v1/enrollments/batch').set(hr).send({
          enrollments: [
            { course: 'NONE-1', externalId: OWNER, status: 'subscribed' },
            { course: 'BAD-101', externalId: 'nobody', status: 'subscribed' },
            { course: 'BAD-101', externalId: OWNER, status: 'passed' },
          ],
        }),
      paths: [['course'], ['externalId'], ['status']],
    },
  ];
  for (const row of rejected) {
    it(`when ${row.name}, then each record is reported with its path and nothing changes`, async () => {
      const before = await snapshot(t.service.database.db);
      const res = await row.send();
      expect(res.status).to.equal(200);
      expect(res.body.failed).to.equal(row.paths.length);
      expect(res.body.errors.map((e) => e.errors.map((x) => x.path))).to.deep.equal(row.paths);
      expect(await snapshot(t.service.database.db)).to.deep.equal(before);
    });
  }
});
