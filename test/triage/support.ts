// Triage test support: the CLI compiled once per test file into a private folder (workers need JS), and running it.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, RULES_DIR } from '../support';

/**
 * Compiles src/ with tsconfig.build.json into a temporary folder and returns its cli/main.js.
 * A private folder, not dist/: other work may be building dist/ at the same time. Its build info too:
 * written to dist/, it would tell `tsc -b` (npm run build) that dist/ is up to date when it is not.
 * tsc still emits when some other file has a type error, so success is judged by the files, not the exit code.
 */
export function buildCli(): string {
  const outDir = mkdtempSync(path.join(tmpdir(), 'ps-triage-build-'));
  try {
    execFileSync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
        '-p',
        path.join(ROOT, 'tsconfig.build.json'),
        '--outDir',
        outDir,
        '--tsBuildInfoFile',
        path.join(outDir, 'tsconfig.build.tsbuildinfo'),
      ],
      { cwd: ROOT, stdio: 'pipe' },
    );
  } catch {
    // Reported below if the triage files did not compile.
  }
  const main = path.join(outDir, 'src', 'cli', 'main.js');
  if (!existsSync(main) || !existsSync(path.join(outDir, 'src', 'triage', 'worker.js'))) throw new Error(`the CLI did not compile into ${outDir}`);
  return main;
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The compiled folder lies outside the repository, so node_modules is found through NODE_PATH. */
export const cliEnv = (): NodeJS.ProcessEnv => ({ ...process.env, NODE_PATH: path.join(ROOT, 'node_modules'), FORCE_COLOR: '0' });

export function runCli(main: string, args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, '--rules', RULES_DIR, ...args], { env: cliEnv(), maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const failed = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
      resolve({ code: failed ? (typeof failed.code === 'number' ? failed.code : null) : 0, signal: failed?.signal ?? null, stdout, stderr });
    });
  });
}

export const readLines = (file: string): string[] => {
  const text = readFileSync(file, 'utf8');
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
};

export const readNdjson = <T = Record<string, unknown>>(file: string): T[] => readLines(file).map((line) => JSON.parse(line) as T);

/**
 * Runs the CLI and sends it SIGINT as soon as `out` has its first bytes, as a person pressing Ctrl-C mid-run does:
 * its exit code and what it wrote on stderr.
 */
export async function interruptedOnceWriting(main: string, args: string[], out: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [main, '--rules', RULES_DIR, ...args], { env: cliEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!(existsSync(out) && statSync(out).size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGINT');
  return { code: await exited, stderr };
}
