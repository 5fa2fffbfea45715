import { expect } from 'chai';
import { heldLockCount, withLocks } from '../../../src/platform/db/locks.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('directory locks', () => {
  it('when two writers take the same key, then they run one after the other', async () => {
    const log: string[] = [];
    const writer = (name: string) =>
      withLocks(['user:a'], async () => {
        log.push(`${name} start`);
        await tick();
        log.push(`${name} end`);
      });
    await Promise.all([writer('1'), writer('2'), writer('3')]);
    expect(log).to.deep.equal(['1 start', '1 end', '2 start', '2 end', '3 start', '3 end']);
    expect(heldLockCount()).to.equal(0);
  });

  it('when writers take overlapping sets of keys in opposite orders, then none deadlocks and disjoint ones overlap', async () => {
    let running = 0;
    let most = 0;
    const writer = (keys: string[]) =>
      withLocks(keys, async () => {
        running++;
        most = Math.max(most, running);
        await tick();
        running--;
      });
    await Promise.all([writer(['a', 'b', 'c']), writer(['c', 'b', 'a']), writer(['b']), writer(['x']), writer(['y', 'x'])]);
    expect(most).to.be.at.least(2);
    expect(heldLockCount()).to.equal(0);
  });

  it('when the work throws, then the lock is released and the error passes through', async () => {
    await withLocks(['k'], async () => {
      throw new Error('boom');
    }).then(
      () => expect.fail('should throw'),
      (err: Error) => expect(err.message).to.equal('boom'),
    );
    expect(await withLocks(['k'], async () => 'next')).to.equal('next');
    expect(heldLockCount()).to.equal(0);
  });

  it('when work holding a key takes it again (a reaction writing the users it locked), then it goes on instead of waiting for itself', async () => {
    const log: string[] = [];
    const other = withLocks(['user:a'], async () => {
      await tick();
      log.push('other');
    });
    await withLocks(['user:a', 'user:b'], async () => {
      log.push('outer');
      await withLocks(['user:b', 'user:c'], async () => {
        await tick();
        log.push('inner');
      });
    });
    await other;
    // The waiting writer still waits for the whole outer work, inner part included.
    expect(log).to.deep.equal(['other', 'outer', 'inner']);
    expect(heldLockCount()).to.equal(0);
  });

  it('when a flow started under a lock outlives it, then it no longer counts as holding the key', async () => {
    const log: string[] = [];
    let later!: Promise<void>;
    await withLocks(['k'], async () => {
      later = (async () => {
        await tick();
        await tick();
        await withLocks(['k'], async () => {
          log.push('late start');
          await tick();
          log.push('late end');
        });
      })();
    });
    const next = withLocks(['k'], async () => {
      log.push('next start');
      await tick();
      await tick();
      log.push('next end');
    });
    await Promise.all([later, next]);
    expect(log).to.deep.equal(['next start', 'next end', 'late start', 'late end']);
    expect(heldLockCount()).to.equal(0);
  });
});
