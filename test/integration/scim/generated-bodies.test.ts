// No client mistake is a 5xx: generated bodies (and filters) on every SCIM endpoint are answered 2xx or as SCIM
// errors, never a server error, never a problem document.
import { expect } from 'chai';
import fc from 'fast-check';
import { startTestService, type TestService } from '../../helpers/service.js';
import { bodyOf, ENTERPRISE_URN, ERROR_URN, FIELDS_URN, GROUP_URN, oktaUser, PATCH_URN, scim } from './scim-helpers.js';

const SEED = 22022;

describe(`SCIM: generated bodies are 2xx or SCIM errors, never 5xx (fast-check seed ${SEED})`, function () {
  this.timeout(120_000);
  let t: TestService;
  let s: ReturnType<typeof scim>;
  let userId: string;
  let groupId: string;
  before(async () => {
    t = await startTestService('scimgen');
    s = scim(t, await t.auth('hr-feed'));
    await t.api.put('/api/v1/fields/department').set(await t.auth('admin')).send({ label: 'Department', type: 'select', options: ['Sales', 'Ops'] }).expect(201);
    await t.api.put('/api/v1/fields/hired').set(await t.auth('admin')).send({ label: 'Hired', type: 'date' }).expect(201);
    userId = bodyOf(await s.post('/Users', oktaUser()).expect(201)).id as string;
    groupId = bodyOf(await s.post('/Groups', { schemas: [GROUP_URN], displayName: 'Generated' }).expect(201)).id as string;
  });
  after(async () => t.stop());

  const scalar = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null), fc.constantFrom('True', 'False', 'a@b.c', 'Sales', '2024-02-30', 'staff', 'Robot'));
  const attr = fc.constantFrom('userName', 'USERNAME', 'name', 'name.givenName', 'active', 'userType', 'emails', 'emails[type eq "work"].value', 'externalId', 'id', 'displayName', 'members', 'members[value eq "x"]', `${ENTERPRISE_URN}:department`, `${FIELDS_URN}:department`, `${FIELDS_URN}:hired`, 'meta', 'emails[type', ']', 'a.b.c');
  const value = fc.oneof(scalar, fc.array(fc.oneof(scalar, fc.record({ value: scalar })), { maxLength: 3 }), fc.dictionary(fc.oneof(attr, fc.string({ maxLength: 6 })), scalar, { maxKeys: 4 }));
  const op = fc.record({ op: fc.oneof(fc.constantFrom('add', 'Replace', 'REMOVE', 'move'), scalar), path: fc.option(attr, { nil: undefined }), value: fc.option(value, { nil: undefined }) }, { requiredKeys: [] });
  const patchBody = fc.oneof(fc.record({ schemas: fc.constant([PATCH_URN]), Operations: fc.array(op, { maxLength: 4 }) }), value);
  const userBody = fc.oneof(
    fc.record({ schemas: fc.constant(['urn:ietf:params:scim:schemas:core:2.0:User']), userName: scalar, externalId: scalar, name: fc.oneof(scalar, fc.record({ givenName: scalar, familyName: scalar })), active: scalar, userType: scalar, [ENTERPRISE_URN]: fc.oneof(scalar, fc.record({ department: scalar })), [FIELDS_URN]: fc.oneof(scalar, fc.dictionary(fc.constantFrom('department', 'hired', 'nope', '__proto__'), scalar)) }, { requiredKeys: [] }),
    value,
  );
  const groupBody = fc.oneof(fc.record({ displayName: scalar, members: fc.oneof(scalar, fc.array(fc.record({ value: scalar }), { maxLength: 3 })) }, { requiredKeys: [] }), value);
  const bulkBody = fc.record({ failOnErrors: fc.option(fc.oneof(fc.integer(), scalar), { nil: undefined }), Operations: fc.oneof(scalar, fc.array(fc.record({ method: fc.oneof(fc.constantFrom('POST', 'put', 'PATCH', 'DELETE'), scalar), path: fc.oneof(fc.constantFrom('/Users', `/Users/${'x'}`, '/Groups', '/Users/bulkId:a', '/nothing'), scalar), bulkId: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }), data: fc.oneof(userBody, patchBody) }, { requiredKeys: ['method', 'path'] }), { maxLength: 4 })) }, { requiredKeys: [] });
  const filterText = fc.oneof(fc.string({ maxLength: 30 }), fc.tuple(attr, fc.constantFrom('eq', 'co', 'gt', 'pr', 'sw', 'xx'), scalar).map(([a, o, v]) => `${a} ${o} ${JSON.stringify(v)}`));

  const expectScimAnswer = (res: { status: number; text: string; headers: Record<string, string> }, what: string) => {
    expect(res.status, `${what} -> ${res.status} ${res.text}`).to.be.below(500);
    if (res.status >= 400) {
      expect(res.headers['content-type'], what).to.match(/^application\/scim\+json/);
      expect(JSON.parse(res.text).schemas, what).to.deep.equal([ERROR_URN]);
    }
  };

  it('when generated bodies reach every write endpoint and generated filters every list, then each answer is below 500 and every failure a SCIM error', async () => {
    const cases: Array<[string, fc.Arbitrary<unknown>, (b: unknown) => Promise<{ status: number; text: string; headers: Record<string, string> }>]> = [
      ['POST /Users', userBody, (b) => s.post('/Users', b)],
      ['PUT /Users/{id}', userBody, (b) => s.put(`/Users/${userId}`, b)],
      ['PATCH /Users/{id}', patchBody, (b) => s.patch(`/Users/${userId}`, b)],
      ['POST /Groups', groupBody, (b) => s.post('/Groups', b)],
      ['PUT /Groups/{id}', groupBody, (b) => s.put(`/Groups/${groupId}`, b)],
      ['PATCH /Groups/{id}', patchBody, (b) => s.patch(`/Groups/${groupId}`, b)],
      ['POST /Bulk', bulkBody, (b) => s.post('/Bulk', b)],
      ['GET /Users?filter', filterText, (f) => s.get(`/Users?filter=${encodeURIComponent(String(f))}&sortBy=${encodeURIComponent(String(f).split(' ')[0] ?? '')}`)],
      ['GET /Groups?filter', filterText, (f) => s.get(`/Groups?filter=${encodeURIComponent(String(f))}&attributes=${encodeURIComponent(String(f).split(' ')[0] ?? '')}`)],
    ];
    for (const [what, arb, send] of cases) {
      await fc.assert(
        fc.asyncProperty(arb, async (body) => expectScimAnswer(await send(body), `${what} ${JSON.stringify(body)}`)),
        { seed: SEED, numRuns: 40, endOnFailure: true },
      );
    }
  });
});
