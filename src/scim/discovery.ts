// The discovery endpoints (RFC 7644 §4): what this service supports, its resource types and their schemas. The
// schema of our extension is made from the field definitions on each request, so an identity provider's
// attribute mapping sees a field as soon as it is defined.
import { loadFieldDefinitions } from '../directory/field-definitions.service.js';
import { MAX_BATCH_RECORDS } from '../directory/identifiers.js';
import { allSchemas, schemaResource } from './schemas.js';
import { MAX_COUNT } from './list-params.js';
import { notFound } from './scim-error.js';
import { URN } from './urns.js';

/** The largest Bulk body, in bytes (ServiceProviderConfig.bulk.maxPayloadSize); the body parser's limit. */
export const BULK_MAX_PAYLOAD = 32 * 1024 * 1024;
export const BULK_MAX_OPERATIONS = MAX_BATCH_RECORDS;

export function serviceProviderConfig(baseUrl: string): Record<string, unknown> {
  return {
    schemas: [URN.serviceProviderConfig],
    patch: { supported: true },
    bulk: { supported: true, maxOperations: BULK_MAX_OPERATIONS, maxPayloadSize: BULK_MAX_PAYLOAD },
    filter: { supported: true, maxResults: MAX_COUNT },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      { type: 'oauthbearertoken', name: 'API key', description: 'An Autogroups API key of role hr-feed or admin, sent as Authorization: Bearer <key>', primary: true },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

export function resourceTypes(baseUrl: string): Array<Record<string, unknown>> {
  return [
    {
      schemas: [URN.resourceType],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'A user of the directory',
      schema: URN.user,
      schemaExtensions: [
        { schema: URN.enterprise, required: false },
        { schema: URN.fields, required: false },
      ],
      meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/User` },
    },
    {
      schemas: [URN.resourceType],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'A group: manual groups are written, automatic and class groups only read',
      schema: URN.group,
      meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/Group` },
    },
  ];
}

export function resourceType(baseUrl: string, id: string): Record<string, unknown> {
  const found = resourceTypes(baseUrl).find((r) => String(r.id).toLowerCase() === id.toLowerCase());
  if (!found) throw notFound(`No resource type ${id}.`);
  return found;
}

export async function schemas(baseUrl: string): Promise<Array<Record<string, unknown>>> {
  return allSchemas(await loadFieldDefinitions()).map((s) => schemaResource(s, baseUrl));
}

export async function schema(baseUrl: string, id: string): Promise<Record<string, unknown>> {
  const found = (await schemas(baseUrl)).find((s) => String(s.id).toLowerCase() === id.toLowerCase());
  if (!found) throw notFound(`No schema ${id}.`);
  return found;
}
