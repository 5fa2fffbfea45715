// screenInput: the one screen every untrusted JSON input passes before joi, the field checks or a copy read it.
import { expect } from 'chai';
import { alongsideScreen, screenInput } from '../../../src/platform/validate.js';

describe('screenInput', () => {
  it('when JSON holds own prototype keys at any depth, then each is named and the copy has none of them, nor a changed prototype', () => {
    const raw: unknown = JSON.parse('{"__proto__":{"type":"staff"},"a":[{"constructor":{"prototype":1}}],"b":{"prototype":2,"ok":3}}');
    const { value, errors } = screenInput(raw);
    expect(errors.map((e) => e.path)).to.have.members(['__proto__', 'a[0].constructor', 'b.prototype']);
    expect(Object.getPrototypeOf(value)).to.equal(Object.prototype);
    expect((value as { type?: unknown }).type).to.equal(undefined);
    expect(value).to.deep.equal({ a: [{}], b: { ok: 3 } });
  });

  it('when strings or keys hold unpaired surrogates, then each is named; paired ones (emoji) pass', () => {
    const { errors } = screenInput(JSON.parse('{"a":"\\ud800x","b":["ok \\ud83d\\ude00","\\ude00"],"c\\udbff":1}'));
    expect(errors.map((e) => e.path)).to.have.members(['a', 'b[1]', 'c\udbff']);
  });

  it('when other checks fail where a refused key was taken out, then only the screen speaks there; elsewhere both do', () => {
    const screen = [{ path: 'email.$ne', message: 'x' }];
    const others = [{ path: 'email', message: 'must be a string' }, { path: 'body', message: 'names nothing' }, { path: 'type', message: 'bad' }];
    expect(alongsideScreen(screen, others).map((e) => e.path)).to.deep.equal(['email.$ne', 'type']);
    expect(alongsideScreen([], others)).to.deep.equal(others);
  });
});
