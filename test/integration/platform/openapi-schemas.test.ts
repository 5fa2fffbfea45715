// One schema source: each route's documented parameters and body are what its joi validators accept, converted.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { servedRoutes } from '../../helpers/routes.js';
import { requestSchemasOf, type RequestSchemas } from '../../../src/platform/validate.js';
import { openApiSchema, pathParameters, queryParameters, type Parameter } from '../../../src/platform/openapi-schema.js';

type Json = Record<string, unknown>;
interface Operation {
  parameters?: Json[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Json }> };
}

const comparable = (p: Parameter | Json) => ({ name: p.name, in: p.in, required: p.required ?? false, style: p.style, explode: p.explode, schema: p.schema });
const byName = (a: { name: unknown }, b: { name: unknown }) => String(a.name).localeCompare(String(b.name));

describe('OpenAPI description: generated from the validators', () => {
  let t: TestService;
  let doc: { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, Json> } };
  before(async () => {
    t = await startTestService('openapischemas');
    doc = (await t.api.get('/openapi.json').expect(200)).body as typeof doc;
  });
  after(async () => t.stop());

  const deref = (s: Json | undefined): Json | undefined => {
    const ref = s?.$ref;
    return typeof ref === 'string' && ref.startsWith('#/components/schemas/') ? doc.components.schemas[ref.slice('#/components/schemas/'.length)] : s;
  };

  it('when every route is compared with its operation, then path parameters, query parameters and the JSON body are its validators converted', () => {
    const routes = servedRoutes(t);
    expect(routes.length).to.be.greaterThan(40);
    const mismatches: string[] = [];
    let bodies = 0;
    for (const route of routes) {
      const op = `${route.method.toUpperCase()} ${route.path}`;
      const pathItem = doc.paths[route.path] as { parameters?: Json[] } & Record<string, Operation | undefined>;
      const operation = pathItem?.[route.method] as Operation | undefined;
      if (!operation) {
        mismatches.push(`${op}: not described`);
        continue;
      }
      const schemas: RequestSchemas = Object.assign({}, ...route.handlers.map((h) => requestSchemasOf(h) ?? {}));
      const documented = [...(pathItem.parameters ?? []), ...(operation.parameters ?? [])];
      for (const where of ['path', 'query'] as const) {
        const joi = where === 'path' ? schemas.params : schemas.query;
        const expected = (joi ? (where === 'path' ? pathParameters(joi) : queryParameters(joi)) : []).map(comparable).sort(byName);
        const actual = documented.filter((p) => p.in === where).map(comparable).sort(byName);
        if (JSON.stringify(actual) !== JSON.stringify(expected)) {
          mismatches.push(`${op}: ${where} parameters\n  documented ${JSON.stringify(actual)}\n  validated  ${JSON.stringify(expected)}`);
        }
      }
      const content = operation.requestBody?.content ?? {};
      const jsonBody = content['application/json'];
      if (!schemas.body) {
        if (jsonBody) mismatches.push(`${op}: a JSON body is documented, none is validated`);
        continue;
      }
      bodies++;
      const expected = openApiSchema(schemas.body);
      if (JSON.stringify(deref(jsonBody?.schema)) !== JSON.stringify(expected)) {
        mismatches.push(`${op}: body\n  documented ${JSON.stringify(deref(jsonBody?.schema))}\n  validated  ${JSON.stringify(expected)}`);
      }
    }
    expect(mismatches, mismatches.join('\n')).to.deep.equal([]);
    expect(bodies, 'routes with a JSON body').to.be.greaterThan(10);
  });
});
