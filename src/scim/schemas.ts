// The attributes this service speaks, as RFC 7643 §7 schema resources: what /Schemas lists, and what resolves an
// attribute name written in any case (`USERNAME`, `name.GivenName`) to its canonical spelling. Only attributes the
// directory stores (or derives) are listed, so an identity provider's attribute mapping offers nothing that would
// be dropped. The extension of our own is generated from the field definitions: one attribute per field, typed.
import type { FieldDefinition, FieldDefinitions } from '../directory/user-values.js';
import { URN } from './urns.js';

interface AttributeDef {
  name: string;
  type: 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex';
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned: 'always' | 'never' | 'default' | 'request';
  uniqueness: 'none' | 'server' | 'global';
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDef[];
}

function attr(name: string, type: AttributeDef['type'], description: string, more: Partial<AttributeDef> = {}): AttributeDef {
  return { name, type, multiValued: false, description, required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none', ...more };
}

interface SchemaDef {
  id: string;
  name: string;
  description: string;
  attributes: AttributeDef[];
}

const userCore: SchemaDef = {
  id: URN.user,
  name: 'User',
  description: 'A user of the directory',
  attributes: [
    attr('id', 'string', "The user's externalId in the directory (GET /api/v1/users/{externalId}); stable", { caseExact: true, mutability: 'readOnly', returned: 'always', uniqueness: 'server' }),
    attr('externalId', 'string', "The client's identifier of the user; the directory's externalId when given at creation", { caseExact: true, mutability: 'immutable' }),
    attr('userName', 'string', "The user's email address, unique case-insensitively", { required: true, uniqueness: 'server' }),
    attr('name', 'complex', "The user's name", {
      subAttributes: [
        attr('givenName', 'string', 'First name'),
        attr('familyName', 'string', 'Last name'),
        attr('formatted', 'string', 'First and last name', { mutability: 'readOnly' }),
      ],
    }),
    attr('displayName', 'string', 'First and last name; read when name is not sent'),
    attr('userType', 'string', 'learner or staff (Student and Employee are read as those)', { canonicalValues: ['learner', 'staff'] }),
    attr('active', 'boolean', 'false makes the user inactive (they stay in the directory)'),
    attr('emails', 'complex', 'The one email address, the same as userName', {
      multiValued: true,
      subAttributes: [attr('value', 'string', 'The address'), attr('type', 'string', 'Always work', { canonicalValues: ['work'] }), attr('primary', 'boolean', 'Always true')],
    }),
  ],
};

/** RFC 7643 §4.3, those attributes that map onto additional fields of the same key (when defined). */
export const ENTERPRISE_ATTRIBUTES = ['employeeNumber', 'costCenter', 'organization', 'division', 'department', 'manager'] as const;

const enterprise: SchemaDef = {
  id: URN.enterprise,
  name: 'EnterpriseUser',
  description: 'Enterprise user; each attribute is stored in the additional field of the same key when one is defined',
  attributes: [
    ...ENTERPRISE_ATTRIBUTES.filter((a) => a !== 'manager').map((a) => attr(a, 'string', `Stored in the additional field ${a} when defined`)),
    attr('manager', 'complex', 'Stored (its value) in the additional field manager when defined', {
      subAttributes: [attr('value', 'string', "The manager's id"), attr('displayName', 'string', "The manager's name", { mutability: 'readOnly' })],
    }),
  ],
};

const group: SchemaDef = {
  id: URN.group,
  name: 'Group',
  description: 'A group; manual groups may be written, automatic and class groups only read',
  attributes: [
    attr('id', 'string', 'The group id (grp_…)', { caseExact: true, mutability: 'readOnly', returned: 'always', uniqueness: 'server' }),
    attr('displayName', 'string', "The group's name, unique", { required: true, uniqueness: 'server' }),
    attr('members', 'complex', 'The members', {
      multiValued: true,
      subAttributes: [
        attr('value', 'string', "The member's id", { caseExact: true, mutability: 'immutable' }),
        attr('$ref', 'reference', "The member's URI", { mutability: 'immutable', referenceTypes: ['User'] }),
        attr('display', 'string', "The member's name", { mutability: 'readOnly' }),
        attr('type', 'string', 'User', { mutability: 'immutable', canonicalValues: ['User'] }),
      ],
    }),
  ],
};

const FIELD_TYPES: Record<FieldDefinition['type'], AttributeDef['type']> = { text: 'string', select: 'string', number: 'decimal', boolean: 'boolean', date: 'string' };

/** Our extension: one attribute per field definition, with the field's type (a date is a `YYYY-MM-DD` string). */
function fieldsSchema(defs: FieldDefinitions): SchemaDef {
  return {
    id: URN.fields,
    name: 'AutogroupsUser',
    description: "The directory's additional fields (GET /api/v1/fields), one attribute per field definition",
    attributes: [...defs.values()]
      .sort((a, b) => a.key.localeCompare(b.key))
      .map((d) =>
        attr(d.key, FIELD_TYPES[d.type], d.type === 'date' ? `${d.label} (a date, YYYY-MM-DD)` : d.label, d.type === 'select' && d.options ? { canonicalValues: [...d.options], caseExact: true } : { caseExact: d.type === 'text' ? false : true }),
      ),
  };
}

export function allSchemas(defs: FieldDefinitions): SchemaDef[] {
  return [userCore, enterprise, fieldsSchema(defs), group];
}

/** The schema resource as /Schemas answers it (RFC 7643 §7). */
export function schemaResource(s: SchemaDef, baseUrl: string): Record<string, unknown> {
  return { schemas: [URN.schema], ...s, meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${s.id}` } };
}

export function userSchemaDefs(defs: FieldDefinitions): Map<string, SchemaDef> {
  return new Map([
    [URN.user, userCore],
    [URN.enterprise, enterprise],
    [URN.fields, fieldsSchema(defs)],
  ]);
}

/**
 * An attribute path split into its schema, attribute and sub-attribute, each in its canonical spelling. `urn`
 * defaults to the core schema; a path naming an unknown attribute keeps the spelling it was given (the caller
 * decides whether that is an error).
 */
interface ResolvedPath {
  urn: string;
  attr: string;
  sub?: string;
  def?: AttributeDef;
  subDef?: AttributeDef;
}

export function resolvePath(path: string, schemas: ReadonlyMap<string, SchemaDef>, core: string): ResolvedPath {
  let urn = core;
  let rest = path;
  const lower = path.toLowerCase();
  // The longest schema URN the path starts with (the enterprise URN is not a prefix of ours, but be exact anyway).
  for (const id of [...schemas.keys()].sort((a, b) => b.length - a.length)) {
    if (lower === id.toLowerCase()) return { urn: id, attr: '' };
    if (lower.startsWith(`${id.toLowerCase()}:`)) {
      urn = id;
      rest = path.slice(id.length + 1);
      break;
    }
  }
  const [attrName, sub] = splitOnce(rest);
  const schema = schemas.get(urn);
  const def = schema?.attributes.find((a) => a.name.toLowerCase() === attrName.toLowerCase());
  const subDef = sub !== undefined ? def?.subAttributes?.find((a) => a.name.toLowerCase() === sub.toLowerCase()) : undefined;
  return { urn, attr: def?.name ?? attrName, ...(sub !== undefined ? { sub: subDef?.name ?? sub } : {}), ...(def ? { def } : {}), ...(subDef ? { subDef } : {}) };
}

function splitOnce(s: string): [string, string | undefined] {
  const dot = s.indexOf('.');
  return dot < 0 ? [s, undefined] : [s.slice(0, dot), s.slice(dot + 1)];
}
