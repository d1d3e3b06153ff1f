// The real service for a fault scenario: the built server as a cluster (WORKERS=2 unless told), on a copy of
// rules/ and a fresh data folder of its own, with bench keys; plus the few requests every scenario makes.
//
// `npm run fault` runs each scenario in test/system/faults/ and prints its report; the tests in test/faults/ run
// the same scenarios (smaller) and assert on the same reports, so what the script prints is what the tests check.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request, type Agent, type IncomingHttpHeaders } from 'node:http';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { defaultRulesDirectory } from '../../../src/loader/load';
import {
  bearer,
  benchKeys,
  freePort,
  groupMembers,
  logReader,
  serverEnvironment,
  ServerProcess,
  UNREACHED_RATE_LIMIT,
  type BenchKeys,
  type LogReader,
} from '../production-load';

/** What a scenario found: one row of `npm run fault`'s table, and the lines printed under it. */
export interface FaultReport {
  /** The fault, in a few words ("an editor's lock file in rules/"). */
  fault: string;
  /** What the service answered while the fault was in place ("1,204 evaluate 200; /health 200 throughout"). */
  answered: string;
  /** What it refused, and how ("the reload: refused and logged, last good rules kept"). */
  refused: string;
  /** What the decision log holds afterwards ("1,204 of 1,204 decisions answered 200, after a restart"). */
  logHolds: string;
  /** Why it did not hold; empty when it held. */
  problems: string[];
  /** Anything else worth printing (figures, timings), a line each. */
  details: string[];
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The service a scenario runs against; stop() it (and remove() its folders) when done. */
export class FaultCluster {
  readonly rulesDir: string;
  readonly dataDir: string;
  readonly keys: BenchKeys;
  /** A policy officer's key, for POST /v1/admin/reload. */
  readonly policyKey = { id: 'fault-policy', secret: randomBytes(16).toString('hex') };
  readonly logFile: string;
  server!: ServerProcess;
  port = 0;
  private readonly env: NodeJS.ProcessEnv;
  readonly workers: number;

  private readonly logDir: string;
  private readonly ownDataDir: boolean;

  private constructor(options: { workers: number; env: NodeJS.ProcessEnv; dataDir?: string }) {
    this.workers = options.workers;
    this.rulesDir = mkdtempSync(path.join(os.tmpdir(), 'ps-fault-rules-'));
    cpSync(defaultRulesDirectory(), this.rulesDir, { recursive: true });
    this.ownDataDir = options.dataDir === undefined;
    this.dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'ps-fault-data-'));
    // Apart from the data: a scenario may fill the data folder's disk, and the server's output must still be kept.
    this.logDir = mkdtempSync(path.join(os.tmpdir(), 'ps-fault-log-'));
    this.logFile = path.join(this.logDir, 'server.log');
    this.keys = benchKeys();
    const env = serverEnvironment({ dataDir: this.dataDir, keys: this.keys, ratePerMinute: UNREACHED_RATE_LIMIT });
    env.API_KEYS = `${this.keys.spec},${this.policyKey.id}:policy:${this.policyKey.secret}`;
    this.env = { ...env, RULES_DIR: this.rulesDir, WORKERS: String(options.workers), ...options.env };
  }

  /**
   * Starts the service and waits for /ready. `env` adds to (or overrides) the server's environment; `dataDir` is a
   * data folder of the scenario's own (left in place by remove()), instead of a fresh one.
   */
  static async start(options: { workers?: number; env?: NodeJS.ProcessEnv; dataDir?: string } = {}): Promise<FaultCluster> {
    const cluster = new FaultCluster({ workers: options.workers ?? 2, env: options.env ?? {}, dataDir: options.dataDir });
    cluster.port = await freePort();
    await cluster.spawn();
    return cluster;
  }

  /** Starts the server; resolves with ms to /ready once every worker is listening. */
  private async spawn(): Promise<number> {
    this.server = new ServerProcess(this.port, this.env, this.logFile);
    const ms = await this.server.ready();
    const deadline = Date.now() + 30_000;
    while (this.workerPids().length < this.workers && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    return ms;
  }

  /** SIGTERM and a new start on the same port, rules and data: the restart an orchestrator makes. Resolves with ms to ready. */
  async restart(): Promise<number> {
    await this.server.stop();
    return this.spawn();
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** One request on a connection of its own (so successive requests reach different workers); never rejects on a status. */
  send(
    method: string,
    route: string,
    options: { role?: 'caseworker' | 'auditor' | 'policy'; body?: string | Buffer; headers?: Record<string, string>; agent?: Agent; timeoutMs?: number } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.role) headers.authorization = bearer(options.role === 'policy' ? this.policyKey : this.keys[options.role]);
    if (options.body !== undefined) headers['content-length'] ??= String(Buffer.byteLength(options.body));
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: this.port, method, path: route, headers, agent: options.agent ?? false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy(new Error(`no answer to ${method} ${route} within ${options.timeoutMs ?? 30_000} ms`)));
      req.end(options.body);
    });
  }

  /** POST …/evaluate with a caseworker's key. */
  evaluate(ruleSet: string, body: unknown, agent?: Agent): Promise<Answer> {
    return this.send('POST', `/v1/rulesets/${ruleSet}/evaluate`, {
      role: 'caseworker',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
      agent,
    });
  }

  /** The server's JSON log lines so far (its stdout and stderr go to logFile), parsed; lines that are not JSON are skipped. */
  logLines(): { msg?: string; pid?: number; [key: string]: unknown }[] {
    let text: string;
    try {
      text = readFileSync(this.logFile, 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').flatMap((line) => {
      try {
        return line.startsWith('{') ? [JSON.parse(line) as { msg?: string; pid?: number }] : [];
      } catch {
        return [];
      }
    });
  }

  /** The pids of the workers serving now: each 'listening on' line's pid, less those no longer running. */
  workerPids(): number[] {
    const members = new Set(groupMembers(this.server.pid));
    return [
      ...new Set(
        this.logLines()
          .filter((l) => l.msg?.startsWith('listening on') && typeof l.pid === 'number')
          .map((l) => l.pid as number),
      ),
    ].filter((pid) => pid !== this.server.pid && members.has(pid));
  }

  /**
   * Restarts the service (SIGTERM, then a new start on the same data, as an orchestrator does) and looks for each
   * decision id in the log found at its path: the ids it does not hold. The promise every scenario checks.
   */
  async missingAfterRestart(ids: readonly string[]): Promise<string[]> {
    await this.restart();
    const reader = await this.reader();
    try {
      return await reader.missing(ids);
    } finally {
      await reader.close();
    }
  }

  /** The decision log, read directly (not through the service). */
  reader(): Promise<LogReader> {
    return logReader({ dataDir: this.dataDir });
  }

  async stop(): Promise<void> {
    if (!this.server.exit) await this.server.stop();
  }

  /** Stops the service if it runs, and removes its folders. */
  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.rulesDir, { recursive: true, force: true });
    rmSync(this.logDir, { recursive: true, force: true });
    if (this.ownDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** The decision id of a 200 evaluate answer (its X-Decision-Id), or undefined. */
export const decisionIdOf = (answer: Answer): string | undefined =>
  answer.status === 200 && typeof answer.headers['x-decision-id'] === 'string' ? answer.headers['x-decision-id'] : undefined;

/** A small valid request, as a caseworker tool sends it (the README's example): `cluster.evaluate(LIGHT.ruleSet, LIGHT.body)`. */
export const LIGHT = {
  ruleSet: 'direct-referral',
  body: JSON.stringify({
    asOf: '2025-04-17',
    facts: {
      program: 'centrelink',
      referral: { source: 'mats', receivedOn: '2025-04-17' },
      customer: { incidents: [{ date: '2025-02-03', kind: 'verbal-abuse', setting: 'phone' }] },
    },
  }),
} as const;
