// The adapter's queue for sorted group page reads: on FerretDB (which reads and sorts a whole group for one page)
// at most four run at once and the others start in arrival order; on MongoDB (an index range) none wait.
import { expect } from 'chai';
import type { Db } from 'mongodb';
import { createDbAdapter } from '../../../src/platform/db/adapter.js';

async function runMany(kind: 'ferretdb' | 'mongodb', n: number): Promise<{ peak: number; order: number[] }> {
  const adapter = createDbAdapter({ kind, db: undefined as unknown as Db });
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      adapter.groupPageRead(async () => {
        order.push(i);
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        if (i === 3) throw new Error('a failed read frees its place');
        return i;
      }).catch(() => -1),
    ),
  );
  return { peak, order };
}

describe('Group page reads (db adapter)', () => {
  it('when twenty reads arrive at once on FerretDB, then four run at a time, in arrival order, a failed one freeing its place', async () => {
    const { peak, order } = await runMany('ferretdb', 20);
    expect(peak).to.equal(4);
    expect(order).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
  });

  it('when twenty reads arrive at once on MongoDB, then all run at once', async () => {
    const { peak } = await runMany('mongodb', 20);
    expect(peak).to.equal(20);
  });
});
