// An intent keeps its changes as one compressed value (log-intents.ts): what the sweep reads back is what the writer
// meant, instants included, and an intent stored before packing (its changes as fields) is settled all the same.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { createGroup, putUser, userBody, type Auth } from '../membership/membership-helpers.js';
import { finishIntent } from '../../../src/membership/membership-store.js';
import { finishStaleIntents, INTENT_GRACE_MS, openIntents } from '../../../src/changes/log-intents.js';
import type { HistoryDoc } from '../../../src/membership/membership.model.js';

describe('Outbox intents: packed changes', () => {
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  const db = () => t.service.database.db;
  const sweepLater = () => finishStaleIntents(finishIntent, new Date(Date.now() + INTENT_GRACE_MS + 1000));

  before(async () => {
    t = await startTestService('intents-packed');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
  });
  after(async () => t.stop());

  /** What a writer that died after inserting the membership left: its intent, the membership, no history. */
  async function deadAddition(run: string): Promise<{ entry: HistoryDoc; groupId: string }> {
    const group = await createGroup(t, admin, { type: 'manual' });
    const user = await putUser(t, hr, userBody());
    const at = new Date(Date.now() - 5000);
    const entry: HistoryDoc = { _id: `${group.id}:${user}:${at.getTime()}:added`, at, group: group.id, externalId: user, action: 'added', source: 'manual', actor: 'test', reason: 'by hand', run };
    await db().collection('memberships').insertOne({ _id: `${group.id}:${user}` as never, group: group.id, externalId: user, source: 'manual', addedAt: at, run });
    return { entry, groupId: group.id };
  }

  it('when a write opens its intent, then the changes are one binary value, and the sweep writes the history they name with its instant', async () => {
    const { entry } = await deadAddition('dead-packed');
    const removedAddedAt = new Date(Date.now() - 60_000);
    const removal: HistoryDoc = { ...entry, _id: `${entry.group}:nobody:${removedAddedAt.getTime()}:removed`, externalId: 'nobody', action: 'removed' };
    await openIntents('dead-packed', [{ entry }, { entry: removal, removedAddedAt }], new Date(Date.now() - INTENT_GRACE_MS - 1000));
    const stored = await db().collection('membership_log_intents').findOne({ run: 'dead-packed' });
    expect(stored).to.not.equal(null);
    expect(stored!.changes, 'no changes as fields').to.equal(undefined);
    expect(stored!.packed?._bsontype, 'one binary value').to.equal('Binary');

    expect((await sweepLater()).settled).to.be.at.least(1);
    const history = await db().collection<HistoryDoc>('membership_history').findOne({ _id: entry._id });
    expect(history).to.include({ action: 'added', reason: 'by hand', run: 'dead-packed' });
    expect(history!.at.getTime()).to.equal(entry.at.getTime());
    expect(await db().collection('membership_log_intents').countDocuments({ run: 'dead-packed' })).to.equal(0);
  });

  it('when an intent was stored before packing, with its changes as fields, then the sweep settles it the same way', async () => {
    const { entry } = await deadAddition('dead-unpacked');
    await db().collection('membership_log_intents').insertOne({ _id: 'intent-before-packing' as never, at: new Date(Date.now() - INTENT_GRACE_MS - 1000), run: 'dead-unpacked', changes: [{ entry }] });
    expect((await sweepLater()).settled).to.be.at.least(1);
    const history = await db().collection<HistoryDoc>('membership_history').findOne({ _id: entry._id });
    expect(history).to.include({ action: 'added', run: 'dead-unpacked' });
    expect(await db().collection('membership_log_intents').countDocuments({ run: 'dead-unpacked' })).to.equal(0);
  });
});
