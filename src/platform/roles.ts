// The one table of who may do what. Every /api/v1 route names the permission it needs; nothing else decides.
export const ROLES = ['admin', 'support', 'hr-feed', 'viewer', 'integration'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'keys:read',
  'keys:write',
  'groups:read',
  'groups:write',
  'members:read',
  'members:write',
  'rules:read',
  'rules:write',
  'requests:read',
  'requests:write',
  'jobs:read',
  'jobs:write',
  'users:read',
  'users:write',
  'fields:read',
  'fields:write',
  'courses:read',
  'courses:write',
  'enrollments:read',
  'enrollments:write',
  'join',
  /** The changes feed (GET /changes): membership changes, as members lists show them. */
  'changes:read',
  /** Webhook subscriptions: their secrets sign what the service sends, so admins only (not even viewers read them). */
  'webhooks:read',
  'webhooks:write',
  /** The job dashboard (/dashboard): it can requeue and delete any job, so admins only. */
  'dashboard',
  /** The log of recent SCIM requests (GET /api/v1/scim/requests): it shows what provisioning clients looked up, so admins only. */
  'provisioning',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const readAllButKeys = PERMISSIONS.filter((p) => p.endsWith(':read') && p !== 'keys:read' && p !== 'webhooks:read');

const GRANTS: Record<Role, readonly Permission[]> = {
  admin: PERMISSIONS,
  support: [
    'groups:read', 'groups:write', 'members:read', 'members:write', 'rules:read', 'rules:write',
    'requests:read', 'requests:write', 'jobs:read', 'jobs:write',
    'users:read', 'fields:read', 'courses:read', 'enrollments:read',
  ],
  'hr-feed': [
    'users:read', 'users:write', 'fields:read', 'fields:write', 'courses:read', 'courses:write',
    'enrollments:read', 'enrollments:write',
  ],
  viewer: readAllButKeys,
  integration: ['groups:read', 'members:read', 'changes:read', 'join'],
};

const grantSets = new Map<Role, ReadonlySet<Permission>>(ROLES.map((r) => [r, new Set(GRANTS[r])]));

export function roleAllows(role: Role, permission: Permission): boolean {
  return grantSets.get(role)?.has(permission) ?? false;
}
