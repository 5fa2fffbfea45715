// Checks an OpenAPI document with two independent validators, swagger-parser (structure, $refs) and Redocly's
// linter (redocly.yaml: recommended rules, examples checked against their schemas), and answers every error.
// Run as a script (npm run openapi:check) it checks the document the service serves, buildOpenApiDocument().
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import SwaggerParser from '@apidevtools/swagger-parser';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface OpenApiCheck {
  errors: string[];
  warnings: string[];
}

async function swaggerParserErrors(doc: unknown): Promise<string[]> {
  try {
    // It dereferences in place: give it a copy.
    await SwaggerParser.validate(structuredClone(doc) as Parameters<typeof SwaggerParser.validate>[0]);
    return [];
  } catch (e) {
    const details = (e as { details?: Array<{ message: string; instancePath?: string }> }).details;
    return details?.length ? details.map((d) => `swagger-parser: ${d.instancePath ?? ''} ${d.message}`) : [`swagger-parser: ${(e as Error).message}`];
  }
}

interface RedoclyProblem {
  ruleId: string;
  severity: 'error' | 'warn';
  message: string;
  location?: Array<{ pointer?: string }>;
}

async function redoclyProblems(doc: unknown): Promise<OpenApiCheck> {
  const dir = await mkdtemp(join(tmpdir(), 'openapi-check-'));
  try {
    const file = join(dir, 'openapi.json');
    await writeFile(file, JSON.stringify(doc, null, 1));
    const cli = join(root, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');
    const args = [cli, 'lint', file, '--config', join(root, 'redocly.yaml'), '--format', 'json', '--max-problems', '100000'];
    // The linter exits 1 when it finds errors; its JSON report is on stdout either way.
    const out = await promisify(execFile)(process.execPath, args, { cwd: root, maxBuffer: 64 * 1024 * 1024 }).catch((e: { stdout?: string; message: string }) => {
      if (e.stdout) return { stdout: e.stdout };
      throw e;
    });
    const report = JSON.parse(out.stdout) as { problems: RedoclyProblem[] };
    const line = (p: RedoclyProblem) => `redocly ${p.ruleId}: ${p.message} (${p.location?.[0]?.pointer ?? ''})`;
    return { errors: report.problems.filter((p) => p.severity === 'error').map(line), warnings: report.problems.filter((p) => p.severity !== 'error').map(line) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function checkOpenApi(doc: unknown): Promise<OpenApiCheck> {
  const [parser, redocly] = await Promise.all([swaggerParserErrors(doc), redoclyProblems(doc)]);
  return { errors: [...parser, ...redocly.errors], warnings: redocly.warnings };
}

async function main(): Promise<void> {
  const { buildOpenApiDocument } = await import('../src/openapi.js');
  const { errors, warnings } = await checkOpenApi(buildOpenApiDocument());
  for (const w of warnings) console.log(`warning  ${w}`);
  for (const e of errors) console.log(`error    ${e}`);
  console.log(`OpenAPI description: ${errors.length} error(s), ${warnings.length} warning(s)`);
  process.exitCode = errors.length ? 1 : 0;
}

// No top-level await: mocha loads test files through require() first, which a module with one would break.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
