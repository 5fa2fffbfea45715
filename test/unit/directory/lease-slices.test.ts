import { expect } from 'chai';
import { MAX_SLICES, MIN_USERS_PER_SLICE, userSlices } from '../../../src/directory/lease-slices.js';

describe('directory: the slices a batch leases its users in', () => {
  const users = (n: number) => Array.from({ length: n }, (_, i) => `u${i}`);

  it('when a batch names 600 users, then slices of 250, 250 and 100, in order', () => {
    const slices = userSlices(users(600), (u) => u, { whole: false });
    expect(slices.map((s) => s.length)).to.deep.equal([MIN_USERS_PER_SLICE, MIN_USERS_PER_SLICE, 100]);
    expect(slices.flat()).to.deep.equal(users(600));
  });

  it('when a user has several items (enrolments), then they are all in one slice, and a slice counts users, not items', () => {
    const items = users(300).flatMap((u) => [`${u}:A`, `${u}:B`]).concat(['u0:C']);
    const slices = userSlices(items, (i) => i.split(':')[0]!, { whole: false });
    expect(slices.map((s) => new Set(s.map((i) => i.split(':')[0])).size)).to.deep.equal([250, 50]);
    expect(slices[0]).to.include.members(['u0:A', 'u0:B', 'u0:C']);
    expect(slices.flat()).to.have.length(601);
  });

  it('when a batch is large, then it is cut into at most MAX_SLICES; when whole, into one', () => {
    const slices = userSlices(users(10_000), (u) => u, { whole: false });
    expect(slices).to.have.length(MAX_SLICES);
    expect(slices.map((s) => s.length)).to.deep.equal(Array(MAX_SLICES).fill(10_000 / MAX_SLICES));
    expect(userSlices(users(10_000), (u) => u, { whole: true })).to.have.length(1);
    expect(userSlices([], (u: string) => u, { whole: true })).to.deep.equal([]);
    expect(userSlices([], (u: string) => u, { whole: false })).to.deep.equal([]);
  });
});
