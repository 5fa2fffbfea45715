import { expect } from 'chai';
import { ifMatchHolds, representationEtag } from '../../../src/platform/conditional.js';

describe('conditional requests', () => {
  it('when a representation changes in any field, then its tag changes; the same body gives the same strong tag', () => {
    const a = representationEtag({ name: 'A', memberCount: 1 });
    expect(a).to.match(/^"[A-Za-z0-9_-]{27}"$/);
    expect(representationEtag({ name: 'A', memberCount: 1 })).to.equal(a);
    expect(representationEtag({ name: 'A', memberCount: 2 })).to.not.equal(a);
  });

  it('when If-Match names a current strong tag (alone or in a list), or is *, or is absent, then it holds', () => {
    const current = ['"3"', '"abc"'];
    for (const header of [undefined, '*', ' * ', '"3"', '"abc"', '"x", "3"', '"x" ,\t"abc"', ', "3",']) {
      expect(ifMatchHolds(header, current), String(header)).to.equal(true);
    }
  });

  it('when If-Match names only weak, stale or malformed tags, then it does not hold', () => {
    const current = ['"3"'];
    for (const header of ['W/"3"', '"4"', '3', '"3', 'stale-version', '"stale-version"', '"3" "4"', '', '*, "3"', '"3"x', 'w/"3"']) {
      expect(ifMatchHolds(header, current), header).to.equal(false);
    }
  });
});
