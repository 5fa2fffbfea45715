// Builds the admin console (console/) into dist/console: its API types generated from the OpenAPI description
// (tools/console-types.ts), one ES module bundle of the TypeScript + preact source (esbuild, no CDN, no inline
// script, so the service's CSP holds), its stylesheet, its icon and its page. Run by
// `npm run console:build`, which npm's prestart, pretest and prepare hooks call, and by the browser tests.
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CONSOLE_OUT_DIR = path.join(ROOT, 'dist', 'console');

export async function buildConsole(outDir = CONSOLE_OUT_DIR): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await writeTypesIfPossible();
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

/**
 * The API types are for tsc (esbuild drops types), and their generator is a dev dependency: an install without
 * dev dependencies (`npm ci --omit=dev`, then `npm start`) builds the console without them.
 */
async function writeTypesIfPossible(): Promise<void> {
  let generator: typeof import('./console-types.js');
  try {
    generator = await import('./console-types.js');
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return;
    throw err;
  }
  await generator.writeConsoleTypes();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  await buildConsole();
  console.log(`console built into ${path.relative(ROOT, CONSOLE_OUT_DIR)} in ${Date.now() - started} ms`);
}
