// A group's configuration moves by versions: each write is conditional on the version its writer read
// (src/groups/group-writes.ts), so a writer that read before another wrote is refused and changes nothing.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { writeGroup } from '../../../src/groups/group-writes.js';
import { ConflictError } from '../../../src/platform/errors.js';
import { createGroup, type Auth } from '../membership/membership-helpers.js';

describe('Groups: versions', () => {
  let t: TestService;
  let admin: Auth;
  const stored = (id: string) => t.service.database.db.collection('groups').findOne({ _id: id as never });
  before(async () => {
    t = await startTestService('group-writes');
    admin = await t.auth('admin');
  });
  after(async () => t.stop());

  it('when a group is created and changed through the API, then each change moves its version by one', async () => {
    const group = await createGroup(t, admin, { type: 'manual', isDefault: true });
    expect(await stored(group.id)).to.include({ version: 1 });
    // Which group is the default is the default-group document's to say (default-group.ts), not the group's.
    expect(await stored(group.id)).to.not.have.property('isDefault');
    expect((await t.api.get(`/api/v1/groups/${group.id}`).set(admin).expect(200)).body).to.include({ isDefault: true });
    await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).send({ description: 'first' }).expect(200);
    await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).send({ description: 'second' }).expect(200);
    expect(await stored(group.id)).to.include({ version: 3, description: 'second' });
  });

  it('when a writer writes what it read before another writer wrote, then it is refused and the group keeps the other write', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const read = (await stored(group.id)) as unknown as { _id: string; version: number };
    await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).send({ description: 'the other writer' }).expect(200);
    let refused: unknown;
    try {
      await writeGroup(read, { $set: { description: 'stale' } });
    } catch (err) {
      refused = err;
    }
    expect(refused).to.be.instanceOf(ConflictError);
    expect(await stored(group.id)).to.include({ version: 2, description: 'the other writer' });
  });
});
