import { expect } from 'chai';
import { PERMISSIONS, ROLES, roleAllows } from '../../../src/platform/roles.js';

describe('role table', () => {
  it('when the role is admin, then every permission is granted', () => {
    for (const p of PERMISSIONS) expect(roleAllows('admin', p), p).to.equal(true);
  });

  it('when the role is not admin, then keys are out of reach', () => {
    for (const role of ROLES.filter((r) => r !== 'admin')) {
      expect(roleAllows(role, 'keys:read'), role).to.equal(false);
      expect(roleAllows(role, 'keys:write'), role).to.equal(false);
    }
  });

  it('when the role is viewer, then it reads everything but keys and webhooks, and writes nothing', () => {
    for (const p of PERMISSIONS) {
      expect(roleAllows('viewer', p), p).to.equal(p.endsWith(':read') && p !== 'keys:read' && p !== 'webhooks:read');
    }
  });

  it('when webhooks and the changes feed are asked for, then only admin reaches webhooks and integration reads changes', () => {
    for (const role of ROLES) {
      expect([roleAllows(role, 'webhooks:read'), roleAllows(role, 'webhooks:write')], role).to.deep.equal(role === 'admin' ? [true, true] : [false, false]);
    }
    expect(ROLES.filter((r) => roleAllows(r, 'changes:read'))).to.deep.equal(['admin', 'viewer', 'integration']);
  });

  it('then each role has exactly the grants API.md gives it', () => {
    expect(roleAllows('hr-feed', 'users:write')).to.equal(true);
    expect(roleAllows('hr-feed', 'groups:read')).to.equal(false);
    expect(roleAllows('support', 'groups:write')).to.equal(true);
    expect(roleAllows('support', 'users:write')).to.equal(false);
    expect(roleAllows('support', 'users:read')).to.equal(true);
    expect(roleAllows('integration', 'join')).to.equal(true);
    expect(roleAllows('integration', 'members:read')).to.equal(true);
    expect(roleAllows('integration', 'users:read')).to.equal(false);
    expect(roleAllows('viewer', 'join')).to.equal(false);
  });

  it('when support requests are asked for, then support and admin write, viewer reads, hr-feed and integration neither', () => {
    const expected: Record<string, [boolean, boolean]> = { admin: [true, true], support: [true, true], viewer: [true, false], 'hr-feed': [false, false], integration: [false, false] };
    for (const role of ROLES) {
      expect([roleAllows(role, 'requests:read'), roleAllows(role, 'requests:write')], role).to.deep.equal(expected[role]);
    }
  });
});
