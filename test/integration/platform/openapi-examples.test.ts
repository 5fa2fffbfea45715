// Swagger UI's "Try it out" starts from each operation's example: every documented request body has one, and the
// real route accepts it. A rule and a group come first, on an empty directory; then the directory's examples, in
// the order they build on each other (field, course, users, enrolments).
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';

type Json = Record<string, unknown>;
interface MediaType {
  example?: unknown;
}
interface Operation {
  parameters?: Array<{ name: string; in: string; example?: unknown }>;
  requestBody?: { content: Record<string, MediaType> };
}
interface Doc {
  paths: Record<string, Record<string, Operation> & { parameters?: Operation['parameters'] }>;
}

/** Every operation with a request body, with its content type and example. */
function operationsWithBodies(doc: Doc): Array<{ op: string; type: string; example: unknown }> {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method, o]) => method !== 'parameters' && (o as Operation).requestBody)
      .flatMap(([method, o]) => Object.entries((o as Operation).requestBody!.content).map(([type, m]) => ({ op: `${method.toUpperCase()} ${path}`, type, example: m.example }))),
  );
}

describe('OpenAPI description: request body examples', () => {
  let t: TestService;
  let doc: Doc;
  before(async () => {
    t = await startTestService('openapiexamples');
    doc = (await t.api.get('/openapi.json').expect(200)).body as Doc;
  });
  after(async () => t.stop());

  /** The path with its parameters filled from the documented examples, and from `values` for the rest. */
  const fill = (op: string, values: Record<string, string> = {}): string => {
    const [method, path] = op.split(' ') as [string, string];
    const item = doc.paths[path]!;
    const params = [...(item.parameters ?? []), ...(item[method.toLowerCase()]!.parameters ?? [])];
    return path.replace(/\{(\w+)\}/g, (_m, name: string) => {
      const value = values[name] ?? params.find((p) => p.name === name && p.in === 'path')?.example;
      expect(value, `${op}: an example for {${name}}`).to.be.a('string');
      return encodeURIComponent(value as string);
    });
  };

  it('when every documented request body is read, then each has an example', () => {
    const bodies = operationsWithBodies(doc);
    expect(bodies.length).to.be.greaterThan(15);
    expect(bodies.filter((b) => b.example === undefined).map((b) => `${b.op} (${b.type})`)).to.deep.equal([]);
  });

  it("when each example is sent to its route as Swagger UI's Try it out would, then each is accepted and stored", async () => {
    const auth = await t.auth('admin');
    const tried = new Set<string>();
    /** `instead`: a body of the example's shape sent in its place, where the example cannot be real (an API key). */
    const send = async (op: string, values: Record<string, string> = {}, type = 'application/json', instead?: Json) => {
      const documented = operationsWithBodies(doc).find((b) => b.op === op && b.type === type)?.example;
      expect(documented, `${op}: example`).to.not.equal(undefined);
      if (instead) expect(Object.keys(instead), `${op}: the example's shape`).to.deep.equal(Object.keys(documented as Json));
      const example = instead ?? documented;
      const [method] = op.split(' ') as [string];
      const url = fill(op, values);
      const req = t.api[method.toLowerCase() as 'put' | 'post' | 'patch'](url).set(auth).set('Content-Type', type);
      const res = await req.send(type === 'application/json' ? JSON.stringify(example) : (example as string));
      expect(res.status, `${op}: ${JSON.stringify(res.body)}`).to.be.within(200, 299);
      tried.add(`${op} ${type}`);
      return { example: example as Json, body: res.body as Json };
    };

    const validation = await send('POST /api/v1/rules/validate');
    expect(validation.body, 'the rule example is valid on an empty directory').to.include({ valid: true });
    const group = await send('POST /api/v1/groups');
    const id = group.body.id as string;
    expect(await t.service.database.db.collection('groups').countDocuments({ _id: id as never })).to.equal(1);

    const field = await send('PUT /api/v1/fields/{key}');
    expect(field.body).to.include({ key: 'department', type: field.example.type });
    await send('PUT /api/v1/courses/{code}');
    const user = await send('PUT /api/v1/users/{externalId}');
    const stored = await t.service.database.db.collection('users').findOne({ _id: 'u-1001' as never });
    expect(stored, 'the user example is stored').to.include({ email: user.example.email, firstName: user.example.firstName });
    expect(stored!.fields).to.deep.equal(user.example.fields);
    await send('PATCH /api/v1/users/{externalId}');
    const batch = await send('POST /api/v1/users/batch');
    expect(batch.body).to.include({ failed: 0, created: (batch.example.users as unknown[]).length });
    const csv = await send('POST /api/v1/users/import', {}, 'text/csv');
    expect(csv.body).to.include({ failed: 0, created: 1 });
    await send('PUT /api/v1/courses/{code}/enrollments/{externalId}');
    const classSync = await send('PUT /api/v1/courses/{code}/class-sync');
    expect(classSync.body).to.include({ course: 'DRV-101', enabled: true, endsAt: classSync.example.endsAt });
    expect(await t.service.database.db.collection('class_sync').countDocuments({ _id: 'DRV-101' as never, enabled: true })).to.equal(1);
    const enrolments = await send('POST /api/v1/enrollments/batch');
    expect(enrolments.body).to.include({ failed: 0 });

    await send('PATCH /api/v1/groups/{id}', { id });
    await send('PUT /api/v1/groups/{id}/rule', { id });
    await send('POST /api/v1/groups/{id}/preview', { id });
    const rulePreview = await send('POST /api/v1/rules/preview');
    expect(rulePreview.body).to.include({ toRemove: 0 }).and.have.property('sampleAddUsers');
    await send('POST /api/v1/groups/{id}/sync', { id });
    await send('POST /api/v1/sync');
    const made = await send('POST /api/v1/groups/{id}/key', { id });
    expect(made.body).to.include({ maxUses: made.example.maxUses, uses: 0 });
    // The example's group key is a placeholder (keys are secrets): a real one, of a manual group the rule cannot fill.
    const manual = await t.api.post('/api/v1/groups').set(auth).send({ name: 'Joined by key', type: 'manual' }).expect(201);
    const real = await t.api.post(`/api/v1/groups/${manual.body.id as string}/key`).set(auth).send({}).expect(200);
    const joined = await send('POST /api/v1/join', {}, 'application/json', { key: real.body.key as string, externalId: 'u-1001' });
    expect(joined.body).to.include({ externalId: 'u-1001', source: 'key' });
    const target = (await t.api.post('/api/v1/groups').set(auth).send({ name: 'Copied and uploaded', type: 'manual' }).expect(201)).body.id as string;
    const copied = await send('POST /api/v1/groups/{id}/members/copy', { id: target });
    expect(copied.body, 'u-1001 (patched) and u-1002 are in the example branch').to.include({ added: 2 });
    await t.api.delete(`/api/v1/groups/${target}/members/u-1002`).set(auth).expect(204);
    const uploaded = await send('POST /api/v1/groups/{id}/members/import', { id: target }, 'text/csv');
    expect(uploaded.body).to.include({ added: 1, unchanged: 1, failed: 0 });
    const key = await send('POST /api/v1/keys');
    expect(key.body).to.include({ name: key.example.name, role: key.example.role });
    const request = await send('POST /api/v1/requests');
    expect(request.body, 'the draft rule example is valid on the example directory').to.include({ status: 'open' }).and.deep.include({ draftRuleErrors: [] });
    expect(await t.service.database.db.collection('support_requests').countDocuments({ _id: request.body.id as never })).to.equal(1);
    const requestPatch = await send('PATCH /api/v1/requests/{id}', { id: request.body.id as string });
    expect(requestPatch.body).to.include({ status: requestPatch.example.status });
    // The example's key is a placeholder (keys are secrets): a real one of the same shape signs in.
    const session = await send('POST /api/v1/session', {}, 'application/json', { key: t.adminKey });
    expect(session.body).to.include({ role: 'admin' });
    // Last, with no membership change after it: the example's URL is a public address, never sent to in tests.
    const webhook = await send('POST /api/v1/webhooks');
    expect(webhook.body).to.include({ url: webhook.example.url, state: 'active' });
    await send('PATCH /api/v1/webhooks/{id}', { id: webhook.body.id as string });
    const rotated = await send('POST /api/v1/webhooks/{id}/rotate-secret', { id: webhook.body.id as string });
    expect(rotated.body.secret).to.match(/^whsec_/);

    // Every documented body was tried: a new operation with a body needs its example tried here too.
    expect(operationsWithBodies(doc).map((b) => `${b.op} ${b.type}`).filter((op) => !tried.has(op))).to.deep.equal([]);
  });
});
