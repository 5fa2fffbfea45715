// The seed's per-phase counts: rewritten in place on a terminal, and in a log printed every few seconds while a
// phase lasts plus once at its end.
import { expect } from 'chai';
import { LOG_EVERY_MS, note, phase } from '../../../seed/progress.js';

function output(isTTY: boolean) {
  const written: string[] = [];
  return { isTTY, written, write: (t: string) => written.push(t) };
}

describe('seed progress', () => {
  it('when written to a log, then a quick phase takes one line and a slow one shows its count every few seconds', () => {
    const out = output(false);
    let now = 0;
    const quick = phase('fields', 8, out, () => now);
    for (let i = 1; i <= 8; i++) quick.advance(i);
    quick.finish();
    expect(out.written).to.deep.equal(['fields          8/8\n']);

    out.written.length = 0;
    const slow = phase('users', 240, out, () => now);
    slow.advance(40);
    now += LOG_EVERY_MS;
    slow.advance(80);
    now += 1;
    slow.advance(120);
    slow.finish('240 created');
    expect(out.written).to.deep.equal(['users            80/240\n', 'users           240/240  240 created\n']);
  });

  it('when written to a terminal, then the line is rewritten in place with a bar and ends with a newline', () => {
    const out = output(true);
    const p = phase('sync', 4, out, () => 0);
    p.advance(2);
    p.finish('users');
    expect(out.written[0]).to.equal('sync            0/4 [........................]');
    expect(out.written[1]).to.equal('\r\x1b[Ksync            2/4 [############............]');
    expect(out.written[2]).to.equal('\r\x1b[Ksync            4/4  users\n');
  });

  it('when a step has no count, then a note says what it did', () => {
    const out = output(false);
    note('snapshot', 'done', out);
    expect(out.written).to.deep.equal(['snapshot        done\n']);
  });
});
