// A removal logged before the addition it undoes (two writers of one membership, the adder slow to log) is read
// after that addition; nothing else moves.
import { expect } from 'chai';
import { causalOrder } from '../../../src/changes/change-events.js';

const ev = (id: string) => ({ id });

describe('change events: a removal after the addition it undoes', () => {
  it('when a removal comes before its addition, then it moves right after it and the rest keep their order', () => {
    const list = ['g1:ana:100:removed', 'g1:ben:5:added', 'g1:ana:100:added', 'g2:ana:7:added'].map(ev);
    expect(causalOrder(list).map((e) => e.id)).to.deep.equal(['g1:ben:5:added', 'g1:ana:100:added', 'g1:ana:100:removed', 'g2:ana:7:added']);
  });

  it('when events are already in order, or a removal undoes an addition of another instant, then nothing moves', () => {
    const list = ['g1:ana:100:added', 'g1:ana:100:removed', 'g1:ana:90:removed', 'g1:ana:200:added'].map(ev);
    expect(causalOrder(list).map((e) => e.id)).to.deep.equal(list.map((e) => e.id));
  });
});
