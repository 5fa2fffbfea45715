// Bad input on every route family (issue 9, items 6-10): undecodable path parameters and bodies, prototype keys,
// refused keys reported alongside every other error, bodies where an operation takes none, and text that is not
// UTF-8 or not valid Unicode. Each row is answered 4xx as a problem document naming exactly the offending input,
// and nothing stored changes (every collection but the scheduler's own, by count and content hash).
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { storedState } from '../../helpers/stored-state.js';
import { createGroup, rules, waitForJob, type Auth } from '../membership/membership-helpers.js';
import { aUser, defineFields, pathsOf } from '../directory/directory-helpers.js';

type Method = 'get' | 'put' | 'patch' | 'post' | 'delete';
interface Row {
  name: string;
  method: Method;
  /** `{manual}`, `{auto}` and `{key}` stand for ids made in `before`. */
  path: string;
  body?: object;
  /** Sent byte for byte with these headers (JSON text with own `__proto__` keys, broken bytes, compressed bodies). */
  raw?: { bytes: string | Buffer; type: string; encoding?: string };
  status: number;
  /** Exactly the paths the problem's errors must name. */
  paths?: string[];
}

const OWNER = 'bad-owner';
const COURSE = 'BAD-101';
const json = (text: string, encoding?: string): Row['raw'] => ({ bytes: text, type: 'application/json', ...(encoding ? { encoding } : {}) });
const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
const person = (extra: Record<string, unknown> = {}) => {
  const { externalId: _id, ...u } = aUser();
  return { ...u, ...extra };
};
const personText = (extra: string) => JSON.stringify(person()).replace(/^\{/, `{${extra},`);
const CSV_HEADER = 'externalId,email,firstName,lastName,type';
const condition = (extra: Record<string, unknown> = {}) => ({ fact: 'email', operator: 'equal', value: 'x@example.com', ...extra });

const rows: Row[] = [
  // 6. Path parameters that are not percent-encoded UTF-8, on every route family.
  { name: 'a user id with %ff', method: 'get', path: '/users/%ff', status: 400, paths: ['externalId'] },
  { name: 'a user id with a truncated escape', method: 'put', path: '/users/%E0%A4%A', body: person(), status: 400, paths: ['externalId'] },
  { name: 'a user id with an overlong encoding', method: 'patch', path: '/users/%c0%ae', body: { lastName: 'Lee' }, status: 400, paths: ['externalId'] },
  { name: 'a user id with %ff and a trailing slash', method: 'get', path: '/users/%ff/', status: 400, paths: ['externalId'] },
  { name: 'a user id with %ff on DELETE', method: 'delete', path: '/users/%ff', status: 400, paths: ['externalId'] },
  { name: 'a user id with %ff on their enrolments', method: 'get', path: '/users/%ff/enrollments', status: 400, paths: ['externalId'] },
  { name: 'a field key with %ff', method: 'put', path: '/fields/%ff', body: { label: 'A', type: 'text' }, status: 400, paths: ['key'] },
  { name: 'a course code with %ff', method: 'put', path: '/courses/%ff', body: { title: 'x' }, status: 400, paths: ['code'] },
  { name: 'an enrolment with both parameters broken', method: 'put', path: '/courses/%ff/enrollments/%c0%ae', body: { status: 'completed' }, status: 400, paths: ['code', 'externalId'] },
  { name: 'a group id with %ff', method: 'patch', path: '/groups/%ff', body: { name: 'x' }, status: 400, paths: ['id'] },
  { name: 'a group id with %ff on its rule', method: 'put', path: '/groups/%ff/rule', body: { rule: rules.field('department', 'Sales') }, status: 400, paths: ['id'] },
  { name: 'a group id with %ff on sync', method: 'post', path: '/groups/%ff/sync', status: 400, paths: ['id'] },
  { name: 'a member id with %ff', method: 'put', path: '/groups/{manual}/members/%ff', status: 400, paths: ['externalId'] },
  { name: 'a member with both parameters broken', method: 'delete', path: '/groups/%ff/members/%fe', status: 400, paths: ['id', 'externalId'] },
  { name: 'an exclusion id with %ff', method: 'put', path: '/groups/{auto}/exclusions/%E0%A4%A', status: 400, paths: ['externalId'] },
  { name: 'an explained user id with %ff', method: 'get', path: '/groups/{auto}/explain/%ff', status: 400, paths: ['externalId'] },
  { name: 'a key id with %ff', method: 'delete', path: '/keys/%ff', status: 400, paths: ['id'] },
  { name: 'a job id with %ff', method: 'get', path: '/jobs/%ff', status: 400, paths: ['jobId'] },
  { name: 'a support request id with %ff', method: 'patch', path: '/requests/%ff', body: { note: 'x' }, status: 400, paths: ['id'] },

  // 6. Bodies whose Content-Encoding does not decode (and one the service does not know).
  { name: 'a gzip body that is not gzip', method: 'put', path: '/users/b1', raw: json(JSON.stringify(person()), 'gzip'), status: 400, paths: ['body'] },
  { name: 'a deflate body that is not deflate', method: 'post', path: '/keys', raw: json('{"name":"x","role":"viewer"}', 'deflate'), status: 400, paths: ['body'] },
  { name: 'a br body that is not brotli', method: 'post', path: '/users/batch', raw: json('{"users":[]}', 'br'), status: 400, paths: ['body'] },
  { name: 'a truncated gzip body', method: 'post', path: '/groups', raw: { bytes: gzipSync('{"name":"g","type":"manual"}').subarray(0, 12), type: 'application/json', encoding: 'gzip' }, status: 400, paths: ['body'] },
  { name: 'a gzip CSV that is not gzip', method: 'post', path: '/users/import', raw: { bytes: `${CSV_HEADER}\nc1,c1@e.co,A,B,learner\n`, type: 'text/csv', encoding: 'gzip' }, status: 400, paths: ['body'] },
  { name: 'a Content-Encoding the service does not know', method: 'post', path: '/keys', raw: json('{"name":"x","role":"viewer"}', 'compress'), status: 415 },

  // 7. Prototype keys, at any depth, in every kind of body.
  { name: 'a PATCH with __proto__ making the user staff', method: 'patch', path: `/users/${OWNER}`, raw: json('{"__proto__":{"type":"staff"},"lastName":"Lee"}'), status: 400, paths: ['__proto__'] },
  { name: 'a PUT with constructor.prototype', method: 'put', path: '/users/b1', raw: json(personText('"constructor":{"prototype":{"type":"staff"}}')), status: 400, paths: ['constructor'] },
  { name: 'a user field named __proto__', method: 'patch', path: `/users/${OWNER}`, raw: json('{"fields":{"__proto__":{"department":"People"}}}'), status: 400, paths: ['fields.__proto__'] },
  { name: 'a key with __proto__ making it admin', method: 'post', path: '/keys', raw: json('{"__proto__":{"role":"admin"},"name":"x"}'), status: 400, paths: ['__proto__', 'role'] },
  { name: 'a field definition with __proto__', method: 'put', path: '/fields/colour', raw: json('{"label":"Colour","type":"text","__proto__":{"options":["a"]}}'), status: 400, paths: ['__proto__'] },
  { name: 'a field definition keyed constructor', method: 'put', path: '/fields/constructor', body: { label: 'C', type: 'text' }, status: 400, paths: ['key'] },
  { name: 'a course coded __proto__', method: 'put', path: '/courses/__proto__', body: { title: 'x' }, status: 400, paths: ['code'] },
  { name: 'a course coded prototype', method: 'put', path: `/courses/prototype/enrollments/${OWNER}`, body: { status: 'completed' }, status: 400, paths: ['code'] },
  { name: 'an enrolment with __proto__', method: 'put', path: `/courses/${COURSE}/enrollments/${OWNER}`, raw: json('{"status":"completed","__proto__":{"role":"instructor"}}'), status: 400, paths: ['__proto__'] },
  { name: 'a group with __proto__', method: 'post', path: '/groups', raw: json('{"name":"g","type":"manual","__proto__":{"isDefault":true}}'), status: 400, paths: ['__proto__'] },
  { name: 'a group patch with only constructor', method: 'patch', path: '/groups/{manual}', raw: json('{"constructor":{"name":"x"}}'), status: 400, paths: ['constructor'] },
  { name: 'a rule with __proto__ inside its conditions', method: 'put', path: '/groups/{auto}/rule', raw: json(`{"rule":{"conditions":{"all":[${JSON.stringify(condition())}],"__proto__":{"any":[]}}}}`), status: 400, paths: ['rule.conditions.__proto__'] },
  { name: 'a rule to validate with __proto__ deep in params', method: 'post', path: '/rules/validate', raw: json(`{"rule":{"conditions":{"any":[${JSON.stringify(condition()).replace(/\}$/, ',"params":{"__proto__":{"a":1}}}')}]}}}`), status: 400, paths: ['rule.conditions.any[0].params.__proto__'] },
  { name: 'a preview with prototype', method: 'post', path: '/groups/{auto}/preview', raw: json(`{"rule":{"prototype":1,"conditions":{"all":[${JSON.stringify(condition())}]}}}`), status: 400, paths: ['rule.prototype'] },
  { name: 'a support request with __proto__ raising its status', method: 'post', path: '/requests', raw: json('{"title":"t","description":"d","requestedBy":"r","__proto__":{"status":"done"}}'), status: 400, paths: ['__proto__'] },
  { name: 'a support request whose draft rule holds constructor', method: 'post', path: '/requests', raw: json(`{"title":"t","description":"d","requestedBy":"r","draftRule":{"conditions":{"all":[${JSON.stringify(condition())}]},"constructor":{}}}`), status: 400, paths: ['draftRule.constructor'] },
  { name: 'a sign-in with __proto__', method: 'post', path: '/session', raw: json('{"__proto__":{"key":"x"}}'), status: 400, paths: ['__proto__', 'key'] },
  { name: 'a batch envelope with __proto__', method: 'post', path: '/users/batch', raw: json('{"users":[],"__proto__":{"users":[]}}'), status: 400, paths: ['__proto__'] },
  { name: 'an enrolment batch envelope with constructor', method: 'post', path: '/enrollments/batch', raw: json('{"enrollments":[],"constructor":1}'), status: 400, paths: ['constructor'] },
  { name: 'a CSV with a fields.__proto__ column', method: 'post', path: '/users/import', raw: { bytes: `${CSV_HEADER},fields.__proto__\nc1,c1@e.co,A,B,learner,x\n`, type: 'text/csv' }, status: 400, paths: ['fields.__proto__'] },
  { name: 'a CSV with a constructor column', method: 'post', path: '/users/import', raw: { bytes: `${CSV_HEADER},constructor\nc1,c1@e.co,A,B,learner,x\n`, type: 'text/csv' }, status: 400, paths: ['constructor'] },

  // 8. Refused keys are reported alongside every other error of the same body.
  { name: 'a $ key and a bad email', method: 'put', path: '/users/b1', body: person({ $set: 1, email: 'bad' }), status: 400, paths: ['$set', 'email'] },
  { name: 'dotted and $ keys with bad values', method: 'patch', path: `/users/${OWNER}`, body: { 'a.b': 1, type: 'robot', fields: { $gt: 1, shoeSize: 2 } }, status: 400, paths: ['a.b', 'type', 'fields.$gt', 'fields.shoeSize'] },
  { name: 'a $ key on a key with a bad role and no name', method: 'post', path: '/keys', body: { $where: 1, role: 'boss' }, status: 400, paths: ['$where', 'name', 'role'] },
  { name: 'a $ key on a group of an unknown type', method: 'post', path: '/groups', body: { $x: 1, type: 'weird' }, status: 400, paths: ['$x', 'name', 'type'] },
  { name: 'a dotted key on a course without a title', method: 'put', path: '/courses/NEW-2', body: { 'x.y': 1 }, status: 400, paths: ['x.y', 'title'] },
  { name: 'a $ key on an enrolment with a bad status', method: 'put', path: `/courses/${COURSE}/enrollments/${OWNER}`, body: { $inc: 1, status: 'done' }, status: 400, paths: ['$inc', 'status'] },
  { name: 'a $ key on a field definition of a bad type', method: 'put', path: '/fields/colour', body: { $a: 1, label: 'C', type: 'color' }, status: 400, paths: ['$a', 'type'] },
  { name: 'a $ key on a batch envelope with users not a list', method: 'post', path: '/users/batch', body: { $inc: 1, users: 'all' }, status: 400, paths: ['$inc', 'users'] },
  { name: 'a $ key on a sync with a bad flag', method: 'post', path: '/groups/{auto}/sync', body: { $x: 1, confirmRemovals: 'yes' }, status: 400, paths: ['$x', 'confirmRemovals'] },
  { name: 'a $ key on a support request patch with a bad status', method: 'patch', path: '/requests/req_00000000000000000000', body: { $set: 1, status: 'closed' }, status: 400, paths: ['$set', 'status'] },

  // 9. A body sent where the operation takes none.
  { name: 'a body on PUT members', method: 'put', path: `/groups/{manual}/members/${OWNER}`, body: { source: 'rule' }, status: 400, paths: ['body'] },
  { name: 'an empty object on PUT members', method: 'put', path: `/groups/{manual}/members/${OWNER}`, body: {}, status: 400, paths: ['body'] },
  { name: 'a body on DELETE members', method: 'delete', path: `/groups/{manual}/members/${OWNER}`, body: { reason: 'x' }, status: 400, paths: ['body'] },
  { name: 'a body on PUT exclusions', method: 'put', path: `/groups/{auto}/exclusions/${OWNER}`, body: { source: 'rule' }, status: 400, paths: ['body'] },
  { name: 'a body on DELETE exclusions', method: 'delete', path: `/groups/{auto}/exclusions/${OWNER}`, body: { a: 1 }, status: 400, paths: ['body'] },
  { name: 'a body on sign-out', method: 'delete', path: '/session', body: { all: true }, status: 400, paths: ['body'] },
  { name: 'a text body on DELETE user', method: 'delete', path: `/users/${OWNER}`, raw: { bytes: 'really', type: 'text/plain' }, status: 400, paths: ['body'] },
  { name: 'a body on DELETE field', method: 'delete', path: '/fields/jobTitle', body: { force: true }, status: 400, paths: ['body'] },
  { name: 'a body on DELETE group', method: 'delete', path: '/groups/{manual}', body: { force: true }, status: 400, paths: ['body'] },
  { name: 'a body on DELETE key', method: 'delete', path: '/keys/{key}', body: {}, status: 400, paths: ['body'] },
  { name: 'a body on DELETE enrolment', method: 'delete', path: `/courses/${COURSE}/enrollments/${OWNER}`, body: { status: 'x' }, status: 400, paths: ['body'] },
  { name: 'a body on a GET', method: 'get', path: '/rules/operators', body: { a: 1 }, status: 400, paths: ['body'] },

  // 10. Text that is not UTF-8, or not valid Unicode.
  { name: 'a JSON body with a byte that is not UTF-8', method: 'put', path: '/users/b1', raw: { bytes: bytes('{"email":"u@example.com","firstName":"', [0xff], '","lastName":"B","type":"learner"}'), type: 'application/json' }, status: 400, paths: ['body'] },
  { name: 'a JSON body with an overlong encoding', method: 'patch', path: `/users/${OWNER}`, raw: { bytes: bytes('{"lastName":"', [0xc0, 0xae], '"}'), type: 'application/json' }, status: 400, paths: ['body'] },
  { name: 'a gzip JSON body that is not UTF-8 inside', method: 'post', path: '/keys', raw: { bytes: gzipSync(bytes('{"name":"', [0xe9], '","role":"viewer"}')), type: 'application/json', encoding: 'gzip' }, status: 400, paths: ['body'] },
  { name: 'a batch with a byte that is not UTF-8', method: 'post', path: '/users/batch', raw: { bytes: bytes('{"users":[{"externalId":"x1","email":"x1@e.co","firstName":"', [0xff], '","lastName":"B","type":"learner"}]}'), type: 'application/json' }, status: 400, paths: ['body'] },
  { name: 'a CSV with a byte that is not UTF-8', method: 'post', path: '/users/import', raw: { bytes: bytes(`${CSV_HEADER}\nc1,c1@e.co,`, [0xe9], 'lodie,B,learner\n'), type: 'text/csv' }, status: 400, paths: ['body'] },
  { name: 'a CSV declared latin1', method: 'post', path: '/users/import', raw: { bytes: `${CSV_HEADER}\nc1,c1@e.co,A,B,learner\n`, type: 'text/csv; charset=latin1' }, status: 415 },
  { name: 'a lone surrogate in a name', method: 'put', path: '/users/b1', raw: json(JSON.stringify(person()).replace('"Ana"', '"\\ud800x"')), status: 400, paths: ['firstName'] },
  { name: 'a lone surrogate in a field value', method: 'patch', path: `/users/${OWNER}`, raw: json('{"fields":{"jobTitle":"\\udc00"}}'), status: 400, paths: ['fields.jobTitle'] },
  { name: 'a lone surrogate in a key name', method: 'post', path: '/keys', raw: json('{"name":"k\\ud83d","role":"viewer"}'), status: 400, paths: ['name'] },
  { name: 'a lone surrogate in a rule value', method: 'post', path: '/rules/validate', raw: json(`{"rule":{"conditions":{"all":[${JSON.stringify(condition({ value: 'PLACEHOLDER' })).replace('PLACEHOLDER', '\\udfff')}]}}}`), status: 400, paths: ['rule.conditions.all[0].value'] },
];

describe('Platform: bad input on every route family', () => {
  let t: TestService;
  let admin: Auth;
  const ids: Record<string, string> = {};
  const db = () => t.service.database.db;
  const at = (path: string) => `/api/v1${path.replace(/\{(\w+)\}/g, (_m, name: string) => ids[name]!)}`;
  const send = (method: Method, path: string, body?: object, raw?: Row['raw']) => {
    let req = t.api[method](at(path)).set(admin);
    if (raw) {
      req = req.set('Content-Type', raw.type);
      if (raw.encoding) req = req.set('Content-Encoding', raw.encoding);
      // Sent as the bytes given: no serializer may re-encode them.
      req = req.serialize((b: string) => b).send(raw.bytes as string);
    } else if (body !== undefined) {
      req = req.send(body);
    }
    return req;
  };

  before(async () => {
    t = await startTestService('platformbad');
    admin = await t.auth('admin');
    await defineFields(t);
    await t.api.put(`/api/v1/courses/${COURSE}`).set(admin).send({ title: 'Bad input' }).expect(201);
    await t.api.put(`/api/v1/users/${OWNER}`).set(admin).send(person({ fields: { department: 'Sales' } })).expect(201);
    await t.api.put(`/api/v1/courses/${COURSE}/enrollments/${OWNER}`).set(admin).send({ status: 'subscribed' }).expect(201);
    ids.manual = (await createGroup(t, admin, { name: 'Bad input manual', type: 'manual' })).id;
    const auto = await t.api.post('/api/v1/groups').set(admin).send({ name: 'Bad input automatic', type: 'automatic', rule: rules.field('department', 'Sales') }).expect(201);
    ids.auto = auto.body.id as string;
    await waitForJob(t, admin, auto.body.jobId as string);
    await t.api.put(`/api/v1/groups/${ids.manual}/members/${OWNER}`).set(admin).expect(201);
    await t.api.put(`/api/v1/groups/${ids.auto}/exclusions/${OWNER}`).set(admin).expect(201);
    ids.key = ((await t.api.post('/api/v1/keys').set(admin).send({ name: 'spare', role: 'viewer' }).expect(201)).body as { id: string }).id;
  });
  after(async () => t.stop());

  for (const row of rows) {
    it(`when ${row.name}, then ${row.status}${row.paths ? ` naming ${row.paths.join(', ')}` : ''}, and nothing is stored`, async () => {
      const before = await storedState(db());
      const res = await send(row.method, row.path, row.body, row.raw);
      expect(res.status, JSON.stringify(res.body).slice(0, 500)).to.equal(row.status);
      expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(res.body).to.include({ status: row.status });
      if (row.paths) expect(pathsOf(res.body)).to.have.members(row.paths);
      expect(await storedState(db())).to.deep.equal(before);
    });
  }

  // Records of a batch are screened one by one: the record fails alone, with every one of its errors.
  const recordRows: Array<{ name: string; path: string; text: string; paths: string[][] }> = [
    { name: 'a user record with __proto__ making it staff', path: '/users/batch', text: `{"users":[${JSON.stringify(aUser()).replace(/^\{/, '{"__proto__":{"type":"staff"},')}]}`, paths: [['__proto__']] },
    { name: 'a user record with constructor in its fields and a bad email', path: '/users/batch', text: `{"users":[${JSON.stringify(aUser({ email: 'bad' })).replace(/^\{/, '{"fields":{"constructor":{"x":1}},')}]}`, paths: [['fields.constructor', 'email']] },
    { name: 'a user record with a $ key and a lone surrogate', path: '/users/batch', text: `{"users":[${JSON.stringify(aUser({ $set: 1, lastName: 'L' })).replace('"L"', '"\\udc00"')}]}`, paths: [['$set', 'lastName']] },
    { name: 'an enrolment record with __proto__', path: '/enrollments/batch', text: `{"enrollments":[{"__proto__":{"role":"instructor"},"course":"${COURSE}","externalId":"${OWNER}","status":"completed"}]}`, paths: [['__proto__']] },
    { name: 'an enrolment record with a $ key and a bad status', path: '/enrollments/batch', text: `{"enrollments":[{"$inc":1,"course":"${COURSE}","externalId":"${OWNER}","status":"done"}]}`, paths: [['$inc', 'status']] },
  ];
  for (const row of recordRows) {
    it(`when ${row.name}, then the record is refused naming ${row.paths.flat().join(', ')}, and nothing is stored`, async () => {
      const before = await storedState(db());
      const res = await send('post', row.path, undefined, json(row.text));
      expect(res.status, JSON.stringify(res.body).slice(0, 500)).to.equal(200);
      const body = res.body as { failed: number; errors: Array<{ errors: Array<{ path: string }> }> };
      expect(body.failed).to.equal(row.paths.length);
      body.errors.forEach((e, i) => expect(e.errors.map((x) => x.path)).to.have.members(row.paths[i]!));
      expect(await storedState(db())).to.deep.equal(before);
    });
  }

  it('when a body is compressed with gzip, deflate or br, then it is decoded and applied', async () => {
    const codings: Array<[string, (b: Buffer) => Buffer]> = [['gzip', gzipSync], ['deflate', deflateSync], ['br', brotliCompressSync]];
    for (const [encoding, compress] of codings) {
      const externalId = `zip-${encoding}`;
      const res = await send('put', `/users/${externalId}`, undefined, { bytes: compress(Buffer.from(JSON.stringify(person({ lastName: 'Müller' })))), type: 'application/json', encoding });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      const stored = await db().collection('users').findOne({ _id: externalId as never });
      expect(stored).to.include({ lastName: 'Müller' });
    }
  });

  it('when a path parameter is percent-encoded UTF-8, then it is decoded as such', async () => {
    const res = await t.api.get(`/api/v1/users/${encodeURIComponent('zoë')}`).set(admin);
    expect(res.status).to.equal(400);
    expect(pathsOf(res.body)).to.deep.equal(['externalId']);
    expect(res.body.errors[0].message).to.not.match(/percent-encoded/);
  });
});
