import { expect } from 'chai';
import { diffUser, patchedRecord, updateOperators } from '../../../src/directory/user-diff.js';
import type { UserDoc } from '../../../src/directory/user.model.js';
import type { UserRecord } from '../../../src/directory/user.schema.js';

const stored: UserDoc = {
  _id: 'u1',
  email: 'Ana@Example.com',
  emailLower: 'ana@example.com',
  firstName: 'Ana',
  lastName: 'Silva',
  type: 'learner',
  status: 'active',
  branch: 'north',
  fields: { dept: 'A', num: 1 },
  enrollments: {},
  createdAt: new Date(0),
  updatedAt: new Date(0),
};
const same: UserRecord = { email: 'Ana@Example.com', firstName: 'Ana', lastName: 'Silva', type: 'learner', status: 'active', branch: 'north', fields: { num: 1, dept: 'A' } };

describe('user diff', () => {
  it('when nothing differs (whatever the key order), then the diff is empty', () => {
    expect(diffUser(stored, same)).to.deep.equal({ set: {}, unset: {}, changed: [] });
  });

  it('when attributes and fields change, then exactly those paths are set or unset', () => {
    const diff = diffUser(stored, { ...same, email: 'ana@example.org', branch: undefined, fields: { dept: 'B', flag: true } });
    expect(diff.changed).to.deep.equal(['email', 'branch', 'fields.dept', 'fields.flag', 'fields.num']);
    expect(diff.set).to.deep.equal({ email: 'ana@example.org', emailLower: 'ana@example.org', 'fields.dept': 'B', 'fields.flag': true });
    expect(diff.unset).to.deep.equal({ branch: '', 'fields.num': '' });
    const ops = updateOperators(diff, new Date(5), 7);
    expect(ops.$set).to.include({ updatedAt: ops.$set!.updatedAt, version: 7 });
    expect(ops.$unset).to.deep.equal({ branch: '', 'fields.num': '' });
  });

  it('when only the case of the email changes, then email is set and emailLower is left alone', () => {
    const diff = diffUser(stored, { ...same, email: 'ana@example.com' });
    expect(diff.changed).to.deep.equal(['email']);
    expect(diff.set).to.deep.equal({ email: 'ana@example.com' });
  });

  it('when a patch is applied, then named attributes change, nulls clear and the rest stays', () => {
    const record = patchedRecord(stored, { status: 'inactive', branch: null }, { num: null, flag: false });
    expect(record).to.deep.equal({ email: 'Ana@Example.com', firstName: 'Ana', lastName: 'Silva', type: 'learner', status: 'inactive', fields: { dept: 'A', flag: false } });
    expect(stored.fields).to.deep.equal({ dept: 'A', num: 1 });
  });
});
