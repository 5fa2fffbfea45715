// The membership store (src/membership/membership-store.ts) is the only writer of memberships, their history and
// exclusions: any other module that wrote them would skip the history, the metrics or the snapshot's change feed.
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const SRC = path.resolve(import.meta.dirname, '../../../src');
const STORE = path.join('membership', 'membership-store.ts');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sources(full) : full.endsWith('.ts') ? [full] : [];
  });
}

// A write method on one of the three collections, however it is reached: the model, the store's accessors, or the
// adapter's bulk helpers.
const COLLECTION = String.raw`(?:(?:Membership|History|Exclusion)Model(?:\.collection)?|\b(?:memberships|history|exclusions)\(\))`;
const WRITE = String.raw`\.\s*(?:insert\w*|update\w*|delete\w*|replace\w*|bulkWrite|findOneAnd\w+|create|save)\s*\(`;
const DIRECT = new RegExp(COLLECTION + String.raw`\s*` + WRITE);
const VIA_ADAPTER = new RegExp(String.raw`\.(?:insertIgnoringDuplicates|deleteByIds|bulkUpdateById)\(\s*` + COLLECTION);
const COLLECTION_NAMES = /collection\(\s*['"](?:memberships|membership_history|exclusions)['"]\s*\)/;

describe('membership store: the only writer of memberships, history and exclusions', () => {
  it('when any other source file is read, then none writes those collections', () => {
    const offenders: string[] = [];
    for (const file of sources(SRC)) {
      const rel = path.relative(SRC, file);
      if (rel === STORE) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (DIRECT.test(line) || VIA_ADAPTER.test(line) || COLLECTION_NAMES.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).to.deep.equal([]);
  });

  it('when the patterns meet a write, then they see it (the check above is not vacuous)', () => {
    expect(DIRECT.test('await memberships().deleteMany({ group })')).to.equal(true);
    expect(DIRECT.test('MembershipModel.collection.deleteMany({ group: id }),')).to.equal(true);
    expect(VIA_ADAPTER.test('await db().insertIgnoringDuplicates(history(), entries)')).to.equal(true);
    expect(DIRECT.test('await memberships().find({ group })')).to.equal(false);
  });
});
