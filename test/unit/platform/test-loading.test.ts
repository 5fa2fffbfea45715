// How mocha loads the test files. Node 20.19 can require() ES modules, so mocha require()s each file first, and tsx
// compiles a TypeScript file for require() unless it needs ESM (import.meta, top-level await): a run then held the
// service's modules twice, once per loader, and mongoose refused the second model ("OverwriteModelError"), so
// `mocha 'test/integration/**/*.test.ts'` alone crashed. .mocharc.json turns require(esm) off: every file is
// imported, one module graph.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '../../..');

describe('test loading', function () {
  this.timeout(60_000);

  it('when a file that require() can load comes before one that needs ESM, then both load into one module graph', async () => {
    // users.test.ts can be require()d; console.routes.test.ts imports a tool that reads import.meta.
    const files = ['test/integration/directory/users.test.ts', 'test/integration/console/console.routes.test.ts'];
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'node_modules/mocha/bin/mocha.js'), '--dry-run', ...files], { cwd: ROOT });
    expect(stdout).to.match(/\d+ passing/);
  });
});
