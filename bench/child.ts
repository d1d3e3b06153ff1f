// Child processes for the bench: run one to completion with its wall time and peak RSS, or keep one
// (the server) running until stopped. Peak RSS comes from GNU time when present, else from polling
// VmHWM in /proc/<pid>/status.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { now } from './common';

const GNU_TIME = '/usr/bin/time';

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  wallMs: number;
  /** Peak resident set size in bytes, if it could be measured. */
  peakRss?: number;
  peakRssFrom: string;
  /** The last few KiB of what it printed, for reports of failure. */
  outputTail: string;
}

/** Keeps the last `limit` characters a stream printed. */
function tail(stream: NodeJS.ReadableStream | null, limit = 4096): () => string {
  let text = '';
  stream?.on('data', (chunk: Buffer) => {
    text = (text + chunk.toString()).slice(-limit);
  });
  return () => text;
}

/** VmHWM (peak RSS) of a live process, in bytes. */
function highWaterMark(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A TypeScript script (the load generator) runs under the loader this process runs under: `tsx` starts node with
 * its loader in execArgv, which spawn does not pass on (fork would). A built script (the service, the CLI) runs
 * as node alone, so no loader's hooks are in what is timed.
 */
const withLoader = (args: string[]): string[] => (args[0]?.endsWith('.ts') ? [...process.execArgv, ...args] : args);

/** Runs `node args…` to completion. */
export function runNode(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Finished> {
  const timeFile = path.join(os.tmpdir(), `ps-bench-time-${process.pid}-${Date.now()}.txt`);
  const useTime = existsSync(GNU_TIME);
  const nodeArgs = withLoader(args);
  const [command, argv] = useTime ? [GNU_TIME, ['-f', '%M', '-o', timeFile, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const started = now();
  const child = spawn(command, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = tail(child.stdout);
  const err = tail(child.stderr);
  let polled: number | undefined;
  const poll = setInterval(() => {
    const mark = child.pid === undefined || useTime ? undefined : highWaterMark(child.pid);
    if (mark !== undefined) polled = Math.max(polled ?? 0, mark);
  }, 50);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      const wallMs = now() - started;
      let peakRss = polled;
      let peakRssFrom = 'VmHWM polled every 50 ms';
      if (useTime) {
        const kb = Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop());
        rmSync(timeFile, { force: true });
        if (Number.isFinite(kb) && kb > 0) [peakRss, peakRssFrom] = [kb * 1024, 'GNU time'];
      }
      resolve({ code, signal, wallMs, peakRss, peakRssFrom, outputTail: `${out()}${err()}` });
    });
  });
}

/** A long-running `node args…` (the server), stopped with SIGTERM, then SIGKILL if it lingers. */
export class Running {
  private readonly child: ChildProcess;
  private readonly output: () => string;
  private exited: Promise<void>;
  exitCode: number | null | undefined;

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    // Its own process group, so cluster workers can be stopped with it if the primary hangs.
    this.child = spawn(process.execPath, withLoader(args), { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out = tail(this.child.stdout);
    const err = tail(this.child.stderr);
    this.output = () => `${out()}${err()}`;
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code) => {
        this.exitCode = code;
        resolve();
      }),
    );
  }

  get outputTail(): string {
    return this.output();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGTERM to the server; SIGKILL to its process group if it lingers; then SIGTERM to any worker it left behind. */
  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined) return;
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-pid, signal);
      } catch {
        // the group is gone
      }
    };
    if (this.exitCode === undefined) this.child.kill('SIGTERM');
    const timer = setTimeout(() => signalGroup('SIGKILL'), 12_000);
    await this.exited;
    clearTimeout(timer);
    signalGroup('SIGTERM');
  }
}
