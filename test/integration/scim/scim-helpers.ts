// Helpers of the SCIM tests: a service with an hr-feed key, SCIM bodies as Okta and Entra send them.
import { randomBytes } from 'node:crypto';
import type supertest from 'supertest';
import { expect } from 'chai';
import type { TestService } from '../../helpers/service.js';

export const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const FIELDS_URN = 'urn:ietf:params:scim:schemas:extension:autogroups:2.0:User';
export const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const LIST_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

export const unique = (prefix = 'u'): string => `${prefix}${randomBytes(5).toString('hex')}`;

/** A User as Okta's SCIM 2.0 test spec creates one. */
export function oktaUser(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const name = unique('okta');
  return {
    schemas: [USER_URN],
    userName: `${name}@example.com`,
    name: { givenName: 'Ana', familyName: 'Silva' },
    emails: [{ primary: true, value: `${name}@example.com`, type: 'work' }],
    displayName: 'Ana Silva',
    locale: 'en-US',
    externalId: name,
    groups: [],
    password: '1mz050nq',
    active: true,
    ...overrides,
  };
}

export function scim(t: TestService, auth: { Authorization: string }) {
  const withAuth = (r: supertest.Test) => r.set(auth).set('Content-Type', 'application/scim+json');
  return {
    get: (path: string) => withAuth(t.api.get(`/scim/v2${path}`)),
    post: (path: string, body: unknown) => withAuth(t.api.post(`/scim/v2${path}`)).send(JSON.stringify(body)),
    put: (path: string, body: unknown) => withAuth(t.api.put(`/scim/v2${path}`)).send(JSON.stringify(body)),
    patch: (path: string, body: unknown) => withAuth(t.api.patch(`/scim/v2${path}`)).send(JSON.stringify(body)),
    delete: (path: string) => withAuth(t.api.delete(`/scim/v2${path}`)),
  };
}

/** Every SCIM failure: a SCIM error body, as application/scim+json. */
export function expectScimError(res: supertest.Response, status: number, scimType?: string): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.headers['content-type']).to.match(/^application\/scim\+json/);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(body.schemas).to.deep.equal([ERROR_URN]);
  expect(body.status).to.equal(String(status));
  expect(body.detail).to.be.a('string').and.not.equal('');
  if (scimType) expect(body.scimType).to.equal(scimType);
}

/** The parsed body of a SCIM answer (supertest does not parse application/scim+json by itself). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test reads into the answer freely
export const bodyOf = (res: supertest.Response): Record<string, any> => JSON.parse(res.text) as Record<string, any>;

export const patchOp = (...Operations: Array<Record<string, unknown>>) => ({ schemas: [PATCH_URN], Operations });
