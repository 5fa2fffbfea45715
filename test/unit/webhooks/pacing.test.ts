// Delivery pacing: passes wait while membership runs a sync, go flat out otherwise, and ask the database at most
// once per interval however many subscriptions a worker delivers.
import { expect } from 'chai';
import { DeliveryPacing } from '../../../src/webhooks/pacing.js';

describe('webhook delivery pacing', () => {
  const setup = (answers: boolean[]) => {
    let now = 0;
    let reads = 0;
    const pacing = new DeliveryPacing(
      async () => answers[Math.min(reads++, answers.length - 1)]!,
      { waitMs: 2000, checkEveryMs: 1000 },
      () => now,
    );
    return { pacing, advance: (ms: number) => (now += ms), reads: () => reads };
  };

  it('when no sync runs, then passes follow each other without waiting', async () => {
    const { pacing } = setup([false]);
    expect(await pacing.delayMs()).to.equal(0);
  });

  it('when a sync runs, then each pass waits, and once it has finished passes go on at once', async () => {
    const { pacing, advance } = setup([true, true, false]);
    expect(await pacing.delayMs()).to.equal(2000);
    advance(1000);
    expect(await pacing.delayMs()).to.equal(2000);
    advance(1000);
    expect(await pacing.delayMs()).to.equal(0);
  });

  it('when many passes ask within one interval, then the database is read once', async () => {
    const { pacing, advance, reads } = setup([true]);
    await Promise.all(Array.from({ length: 20 }, () => pacing.delayMs()));
    advance(999);
    await pacing.delayMs();
    expect(reads()).to.equal(1);
    advance(1);
    await pacing.delayMs();
    expect(reads()).to.equal(2);
  });

  it('when the read fails, then delivery is not held up', async () => {
    const pacing = new DeliveryPacing(async () => {
      throw new Error('database away');
    });
    expect(await pacing.delayMs()).to.equal(0);
  });
});
