// Builds a Go program with the machine's toolchain and says what it is doing while it does. The first build of the
// embedded database downloads Go modules and compiles some 500 packages: one to several minutes during which Go
// itself prints nothing, so a newcomer could not tell a long build from a hung start.
//
// Two steps, each reported every few seconds with the elapsed time: `go list -deps` resolves (downloading what
// the module cache lacks) and counts the packages; `go build -v` names each package as it compiles it (those in
// Go's build cache are not compiled again, so a later build counts fewer).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

type GoBuildStage = 'resolving' | 'compiling';

/** What Go has printed so far, counted; status() says it in words. Pure: it only reads lines and a clock. */
export class GoBuildProgress {
  downloads = 0;
  compiled = 0;
  total: number | undefined;
  last: string | undefined;
  /** Lines that are neither a download nor a package: Go's errors, kept for the failure message. */
  readonly problems: string[] = [];

  constructor(
    private readonly what: string,
    private readonly startedAt: number,
  ) {}

  line(text: string): void {
    const t = text.trim();
    if (!t) return;
    const download = /^go: downloading (\S+) (\S+)$/.exec(t);
    if (download) {
      this.downloads++;
      this.last = `${download[1]} ${download[2]}`;
    } else if (/^[\w.~-]+(\/[\w.~+-]+)*$/.test(t)) {
      // `go build -v` prints an import path per package it compiles.
      this.compiled++;
      this.last = t;
    } else {
      this.problems.push(t);
      if (this.problems.length > 50) this.problems.shift();
    }
  }

  status(stage: GoBuildStage, now: number): string {
    const elapsed = `${Math.round((now - this.startedAt) / 1000)} s`;
    if (stage === 'resolving') {
      const got = this.downloads ? `downloading Go modules: ${this.downloads} so far (${this.last})` : 'resolving Go modules';
      return `${this.what}: ${got}, ${elapsed}`;
    }
    const of = this.total ? ` of ${this.total}` : '';
    return `${this.what}: ${this.compiled}${of} Go packages compiled${this.last ? ` (${this.last})` : ''}, ${elapsed}`;
  }

  summary(now: number): string {
    const seconds = ((now - this.startedAt) / 1000).toFixed(1);
    const downloads = this.downloads ? `${this.downloads} Go modules downloaded, ` : '';
    const cached = this.total !== undefined && this.total > this.compiled ? `, the rest of ${this.total} reused from Go's build cache` : '';
    return `${this.what}: done in ${seconds} s: ${downloads}${this.compiled} packages compiled${cached}`;
  }
}

interface GoBuildOptions {
  /** The Go module to build. */
  dir: string;
  /** The binary to write. */
  output: string;
  /** What is built, as the messages name it. */
  what: string;
  log: (msg: string) => void;
  env?: NodeJS.ProcessEnv;
  /** How often progress is reported. */
  everyMs?: number;
  /** `go build` flags besides -v and -o. */
  flags?: readonly string[];
}

export class GoToolchainMissingError extends Error {}

/** Runs go with these arguments; every line it prints goes to onLine. Rejects with Go's problems if it fails. */
function runGo(args: readonly string[], opts: GoBuildOptions, progress: GoBuildProgress, onStdout: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', args, { cwd: opts.dir, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: child.stdout }).on('line', onStdout);
    createInterface({ input: child.stderr }).on('line', (l) => progress.line(l));
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? new GoToolchainMissingError('the Go toolchain (`go`) is not on PATH') : err);
    });
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`go ${args[0]} exited with code ${code}${progress.problems.length ? `:\n${progress.problems.join('\n')}` : ''}`));
    });
  });
}

export async function goBuild(opts: GoBuildOptions): Promise<GoBuildProgress> {
  const progress = new GoBuildProgress(opts.what, Date.now());
  let stage: GoBuildStage = 'resolving';
  const timer = setInterval(() => opts.log(progress.status(stage, Date.now())), opts.everyMs ?? 5000);
  try {
    let total = 0;
    await runGo(['list', '-deps', '-f', '{{.ImportPath}}', '.'], opts, progress, () => total++);
    progress.total = total;
    stage = 'compiling';
    opts.log(`${opts.what}: ${total} Go packages to compile (those in Go's build cache are reused)`);
    await runGo(['build', '-v', ...(opts.flags ?? []), '-o', opts.output, '.'], opts, progress, (l) => progress.line(l));
  } finally {
    clearInterval(timer);
  }
  opts.log(progress.summary(Date.now()));
  return progress;
}
