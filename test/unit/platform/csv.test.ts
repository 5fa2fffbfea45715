import { expect } from 'chai';
import { parseCsvRows } from '../../../src/platform/csv.js';

describe('CSV rows and their lines', () => {
  for (const [name, nl] of [['LF', '\n'], ['CRLF', '\r\n'], ['CR', '\r']] as const) {
    it(`when a ${name} file has quoted line breaks, blank and whitespace-only lines, then each row names the line where it starts`, () => {
      const text = ['\uFEFFa,b', '1,"é2"', `"x${nl}y",3`, '', '  ', '4,5', `6,"7${nl}${nl}8"`, '9,10'].join(nl);
      for (const source of [text, text + nl + nl]) {
        expect(parseCsvRows(source).map((r) => [r.cells[0], r.line])).to.deep.equal([['a', 1], ['1', 2], [`x${nl}y`, 3], ['4', 7], ['6', 8], ['9', 11]]);
      }
    });
  }

  it('when line ends are mixed and the file starts with blank lines, then lines are still counted from the top', () => {
    expect(parseCsvRows('\n\na,b\n"p\r\nq",2\r\n3,4\n').map((r) => [r.cells[0], r.line])).to.deep.equal([['a', 3], ['p\r\nq', 4], ['3', 6]]);
  });

  it('when quoting is broken, then a 400 naming the body', () => {
    expect(() => parseCsvRows('a,b\n"x,1\n')).to.throw().with.property('status', 400);
  });
});
