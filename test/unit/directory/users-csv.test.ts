import { expect } from 'chai';
import { parseUsersCsv } from '../../../src/directory/users-csv.js';
import type { FieldDefinition } from '../../../src/directory/user-values.js';
import { ValidationError, PayloadTooLargeError } from '../../../src/platform/errors.js';

const defs = new Map<string, FieldDefinition>([
  ['n', { key: 'n', label: 'N', type: 'number' }],
  ['b', { key: 'b', label: 'B', type: 'boolean' }],
]);
const header = 'externalId,email,firstName,lastName,type';

describe('users CSV parsing', () => {
  it('when rows have quotes, empty cells and typed fields, then records are built with converted values and no empty values', () => {
    const { records, rejected } = parseUsersCsv(`${header},branch,fields.n,fields.b\r\nu1,a@b.co,"A, B","x""y",learner,,7,true\r\n`, defs);
    expect(rejected.size).to.equal(0);
    expect(records).to.deep.equal([{ externalId: 'u1', email: 'a@b.co', firstName: 'A, B', lastName: 'x"y', type: 'learner', fields: { n: 7, b: true } }]);
  });

  it('when a row is ragged, then it is rejected keeping its place, and every record knows the line where its row starts', () => {
    const { records, rejected, lines } = parseUsersCsv(`${header}\nu1,a@b.co,A\n\nu2,b@b.co,A,"B\nB",staff\nu3,c@b.co,C,D,staff\n`, defs);
    expect(records).to.have.length(3);
    expect(records[0]).to.equal(null);
    expect(rejected.get(0)).to.deep.equal({ externalId: 'u1', errors: [{ path: 'row', message: 'has 3 values; the header has 5' }] });
    expect(lines).to.deep.equal([2, 4, 6]);
  });

  it('when the header is wrong, the file empty or too long, then the whole file is refused', () => {
    expect(() => parseUsersCsv('', defs)).to.throw(ValidationError);
    expect(() => parseUsersCsv('externalId,fields.zzz\n', defs)).to.throw(ValidationError);
    expect(() => parseUsersCsv(header + '\n' + 'u,a@b.co,A,B,learner\n'.repeat(10_001), defs)).to.throw(PayloadTooLargeError);
  });
});
