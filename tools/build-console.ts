// Builds the admin console (console/) into dist/console: its API types generated from the OpenAPI description
// (tools/console-types.ts), one ES module bundle of the TypeScript + preact source (esbuild, no CDN, no inline
// script, so the service's CSP holds), its stylesheet, its icon and its page. Run by
// `npm run console:build`, which npm's prestart, pretest and prepare hooks call, and by the browser tests.
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { writeConsoleTypes } from './console-types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CONSOLE_OUT_DIR = path.join(ROOT, 'dist', 'console');

export async function buildConsole(outDir = CONSOLE_OUT_DIR): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await writeConsoleTypes();
  await build({
    absWorkingDir: ROOT,
    entryPoints: ['console/src/main.tsx'],
    outfile: path.join(outDir, 'app.js'),
    bundle: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: 'console/tsconfig.json',
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  await copyFile(path.join(ROOT, 'console', 'index.html'), path.join(outDir, 'index.html'));
  await copyFile(path.join(ROOT, 'console', 'app.css'), path.join(outDir, 'app.css'));
  await copyFile(path.join(ROOT, 'console', 'favicon.svg'), path.join(outDir, 'favicon.svg'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  await buildConsole();
  console.log(`console built into ${path.relative(ROOT, CONSOLE_OUT_DIR)} in ${Date.now() - started} ms`);
}
