import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';

describe('Directory: OpenAPI description', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService('dirdocs');
  });
  after(async () => t.stop());

  it('when /openapi.json is read, then every directory endpoint of API.md is described with its schemas', async () => {
    const res = await t.api.get('/openapi.json').expect(200);
    const paths = res.body.paths as Record<string, Record<string, unknown>>;
    const expected: Array<[string, string[]]> = [
      ['/api/v1/fields', ['get']],
      ['/api/v1/fields/{key}', ['get', 'put', 'delete']],
      ['/api/v1/users', ['get']],
      ['/api/v1/users/{externalId}', ['get', 'put', 'patch', 'delete']],
      ['/api/v1/users/{externalId}/enrollments', ['get']],
      ['/api/v1/users/batch', ['post']],
      ['/api/v1/users/import', ['post']],
      ['/api/v1/courses', ['get']],
      ['/api/v1/courses/{code}', ['get', 'put']],
      ['/api/v1/courses/{code}/enrollments', ['get']],
      ['/api/v1/courses/{code}/enrollments/{externalId}', ['put', 'delete']],
      ['/api/v1/enrollments/batch', ['post']],
    ];
    for (const [path, methods] of expected) {
      expect(paths[path], path).to.be.an('object');
      for (const m of methods) expect(paths[path]![m], `${m} ${path}`).to.be.an('object');
    }
    const refs = JSON.stringify(res.body).match(/#\/components\/schemas\/[A-Za-z]+/g) ?? [];
    for (const ref of new Set(refs)) expect(res.body.components.schemas[ref.split('/').pop()!], ref).to.be.an('object');
  });
});
