// What the embedded database's build says while it runs: the counting of Go's output (pure), and a real build of
// a tiny Go module that reports its progress and its end, or Go's own error when it fails.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GoBuildProgress, goBuild } from '../../../src/platform/go-build.js';

describe('Go build progress', () => {
  it('when Go downloads modules and compiles packages, then the status counts them with the elapsed time', () => {
    const progress = new GoBuildProgress('building x', 1_000);
    expect(progress.status('resolving', 3_000)).to.equal('building x: resolving Go modules, 2 s');
    progress.line('go: downloading github.com/FerretDB/FerretDB v1.24.0');
    progress.line('go: downloading modernc.org/sqlite v1.29.0');
    expect(progress.status('resolving', 13_000)).to.equal('building x: downloading Go modules: 2 so far (modernc.org/sqlite v1.29.0), 12 s');
    progress.total = 10;
    progress.line('internal/goarch');
    progress.line('github.com/FerretDB/FerretDB/internal/util/must');
    progress.line('');
    expect(progress.status('compiling', 41_000)).to.equal('building x: 2 of 10 Go packages compiled (github.com/FerretDB/FerretDB/internal/util/must), 40 s');
    expect(progress.summary(61_000)).to.equal('building x: done in 60.0 s: 2 Go modules downloaded, 2 packages compiled, the rest of 10 reused from Go\'s build cache');
  });

  it('when Go prints an error, then it is kept for the failure message and not counted as a package', () => {
    const progress = new GoBuildProgress('building x', 0);
    progress.line('# example.com/broken');
    progress.line('./main.go:3:14: syntax error: unexpected newline');
    expect(progress.compiled).to.equal(0);
    expect(progress.problems).to.deep.equal(['# example.com/broken', './main.go:3:14: syntax error: unexpected newline']);
  });

  describe('a real build', function () {
    this.timeout(60_000);
    let dir: string;
    // A module path of its own: its main package is not in Go's build cache, so Go compiles (and names) it.
    const module = `example.com/progress${randomBytes(6).toString('hex')}`;
    beforeEach(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'autogroups-gobuild-'));
      await writeFile(path.join(dir, 'go.mod'), `module ${module}\n\ngo 1.22\n`);
    });
    afterEach(async () => rm(dir, { recursive: true, force: true }));

    it('when it builds, then it reports progress every interval, the packages to compile, and a summary', async () => {
      await writeFile(path.join(dir, 'main.go'), 'package main\n\nfunc main() {}\n');
      const messages: string[] = [];
      const progress = await goBuild({ dir, output: path.join(dir, 'bin'), what: 'building tiny', log: (m) => messages.push(m), everyMs: 100 });
      await access(path.join(dir, 'bin'));
      expect(progress.compiled).to.be.at.least(1);
      expect(progress.total).to.be.at.least(progress.compiled);
      expect(messages.some((m) => /^building tiny: \d+ Go packages to compile/.test(m)), messages.join('\n')).to.equal(true);
      expect(messages.some((m) => /^building tiny: (resolving Go modules|\d+ of \d+ Go packages compiled.*), \d+ s$/.test(m)), messages.join('\n')).to.equal(true);
      expect(messages.at(-1)).to.match(/^building tiny: done in \d+\.\d s: [1-9]\d* packages compiled/);
    });

    it('when the source does not compile, then it fails with Go\'s error', async () => {
      await writeFile(path.join(dir, 'main.go'), 'package main\n\nfunc main() {\n');
      const err = await goBuild({ dir, output: path.join(dir, 'bin'), what: 'building tiny', log: () => {} }).then(() => undefined, (e: Error) => e);
      expect(err?.message).to.match(/go build exited with code 1:[\s\S]*main\.go:\d+:\d+: .*(syntax error|expected)/);
    });
  });
});
