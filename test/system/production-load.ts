// npm run load -- [--connections 64] [--duration 30] [--rule-set segment-allocation] [--warm 3] [--decision-log-url postgres://…]
//
// The service as it is deployed, under load: the built server as a child process (API keys, a
// decision log in a fresh DATA_DIR, WORKERS as the operator leaves it), autocannon sending varied
// generated cases with a caseworker's key, then the decision log checked against the answers: every
// 200 must be in the log, and the log must hold nothing the callers were not answered. Exits 1 on
// any error, any non-2xx, any count or id mismatch, or a shutdown that is not clean.
//
// The server, its keys, its readiness and the log reader are exported for fault.ts (the kill test).
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { Client as PgClient } from 'pg';
import { backlogGenerator, DEFAULT_AS_OF } from '../../fixtures/backlog';
import { caseGenerator } from '../../fixtures/generator';
import { parseEvaluateRequest } from '../../src/facts/validate';
import { shippedRules } from '../support';
import { SERVER } from '../support/built';
import { freePort } from '../support/net';
import { mib, n, now, say, secs } from '../support/report';

// ---------------------------------------------------------------------------------------------
// Keys: one caseworker key to evaluate with, one auditor key to read the log back. Fresh secrets
// every run, so nothing this bench prints or leaves behind opens a real service.

export interface BenchKey {
  id: string;
  secret: string;
}

export interface BenchKeys {
  caseworker: BenchKey;
  auditor: BenchKey;
  /** API_KEYS as the server reads it: <id>:<role>:<secret>,… */
  spec: string;
}

export function benchKeys(): BenchKeys {
  // 32 hex characters: over the server's 24-character minimum.
  const caseworker = { id: 'bench-caseworker', secret: randomBytes(16).toString('hex') };
  const auditor = { id: 'bench-auditor', secret: randomBytes(16).toString('hex') };
  return { caseworker, auditor, spec: `${caseworker.id}:caseworker:${caseworker.secret},${auditor.id}:auditor:${auditor.secret}` };
}

export const bearer = (key: BenchKey): string => `Bearer ${key.secret}`;

// ---------------------------------------------------------------------------------------------
// The server as a child process.

/** Processes of a process group that are still running (not zombies waiting to be reaped), from /proc. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses, so split after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') members.push(Number(entry));
    } catch {
      // it ended while we looked
    }
  }
  return members;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * `node dist/src/server.js` in a process group of its own (detached), so one signal to the group
 * reaches the cluster primary and every worker at once: what a SIGKILL from the kernel's OOM killer
 * or a container runtime does. Its output goes to a file, not a pipe: at thousands of requests a
 * second the request log would otherwise be read, line by line, by the process generating the
 * load, and its CPU would show up as the server's latency. The file is also there to read after a
 * failure.
 */
export class ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly base: string;
  private readonly spawnedAt = now();
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;

  constructor(
    readonly port: number,
    env: NodeJS.ProcessEnv,
    readonly logFile: string,
  ) {
    const fd = openSync(logFile, 'a');
    this.child = spawn(process.execPath, [SERVER], { env: { ...env, PORT: String(port) }, stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    if (this.child.pid === undefined) throw new Error(`the server could not be started (${process.execPath} ${SERVER})`);
    this.pid = this.child.pid;
    this.base = `http://127.0.0.1:${port}`;
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      }),
    );
  }

  /** The last few KiB the server printed, for reports of failure. */
  logTail(bytes = 4096): string {
    try {
      const text = readFileSync(this.logFile, 'utf8');
      return text.slice(-bytes);
    } catch {
      return '(no server log)';
    }
  }

  /** Polls /ready until it answers 200; resolves with the milliseconds since the server was spawned. */
  async ready(timeoutMs = 60_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (this.exit) throw new Error(`the server exited (${JSON.stringify(this.exit)}) before /ready answered 200:\n${this.logTail()}`);
      try {
        const answer = await fetch(`${this.base}/ready`, { signal: AbortSignal.timeout(2_000) });
        if (answer.ok) {
          await answer.arrayBuffer();
          return now() - this.spawnedAt;
        }
        last = `${answer.status} ${(await answer.text()).slice(0, 300)}`;
      } catch (error) {
        last = (error as Error).message;
      }
      // Short: the time to ready after a crash is one of the figures, and polling is its resolution.
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`${this.base}/ready did not answer 200 within ${secs(timeoutMs)} (last: ${last}):\n${this.logTail()}`);
  }

  /**
   * SIGTERM to the primary only, as a container runtime sends it to the container's first process:
   * the primary is the one that must pass it on to the workers and wait for them. Resolves with its
   * exit and any process of the group still running once it has gone (workers left behind).
   */
  async stop(graceMs = 20_000): Promise<{ exit: Exit; leftBehind: number[]; forced: boolean }> {
    let forced = false;
    if (!this.exit) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => {
        forced = true;
        this.signalGroup('SIGKILL');
      }, graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    // Workers exit after the primary has seen them go, so a short wait is enough; anything left is a fault.
    const leftBehind = await this.waitForGroup(2_000);
    if (leftBehind.length > 0) this.signalGroup('SIGKILL');
    return { exit: this.exit as Exit, leftBehind, forced };
  }

  /** stop(), said as the scripts report it, with a failure added unless the service exited 0, in time, leaving nothing behind. */
  async stopReported(failures: string[]): Promise<void> {
    const stopped = await this.stop();
    say(
      `SIGTERM: exit ${JSON.stringify(stopped.exit)}${stopped.forced ? ' (after SIGKILL: it did not stop within 20 s)' : ''}${stopped.leftBehind.length > 0 ? `; processes left behind: ${stopped.leftBehind.join(', ')}` : ''}`,
    );
    if (stopped.exit.code !== 0 || stopped.forced || stopped.leftBehind.length > 0)
      failures.push(`the server did not stop cleanly on SIGTERM: ${JSON.stringify(stopped)}`);
  }

  /** SIGKILL to the whole group, primary and workers at once; resolves when none of them is running. */
  async kill(): Promise<void> {
    this.signalGroup('SIGKILL');
    await this.exited;
    const left = await this.waitForGroup(10_000);
    if (left.length > 0) throw new Error(`processes ${left.join(', ')} of the server's group survived SIGKILL`);
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // the group is gone
    }
  }

  private async waitForGroup(ms: number): Promise<number[]> {
    const deadline = Date.now() + ms;
    let members = groupMembers(this.pid);
    while (members.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      members = groupMembers(this.pid);
    }
    return members;
  }
}

/** A per-key limit the load never reaches, so the limiter does its work on every request and refuses none. */
export { freePort };

export const UNREACHED_RATE_LIMIT = 1_000_000_000;

/** The environment the server is started with: this one's, less anything that would point it at another log or key set. */
export function serverEnvironment(settings: { dataDir: string; keys: BenchKeys; decisionLogUrl?: string; ratePerMinute: number }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: settings.dataDir,
    API_KEYS: settings.keys.spec,
    RATE_LIMIT_PER_MINUTE: String(settings.ratePerMinute),
  };
  delete env.API_KEYS_FILE;
  delete env.DECISION_LOG_URL;
  if (settings.decisionLogUrl) env.DECISION_LOG_URL = settings.decisionLogUrl;
  // npm passes its own settings down; the server is started as an operator would start it, without them.
  for (const name of Object.keys(env)) if (name.startsWith('npm_')) delete env[name];
  return env;
}

/** WORKERS as the server will read it: unset means one per core. */
export function workersSetting(): string {
  const raw = process.env.WORKERS?.trim();
  return raw ? `WORKERS=${raw}` : `WORKERS unset (the server's default: one per core, ${os.availableParallelism()})`;
}

export function machineLine(): string {
  const cpus = os.cpus();
  return `${new Date().toISOString()}; node ${process.version}; ${os.platform()} ${os.release()} ${os.arch()}; ${cpus.length} × ${cpus[0]?.model ?? 'unknown cpu'}; available parallelism ${os.availableParallelism()}; ${mib(os.totalmem())} memory; load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

// ---------------------------------------------------------------------------------------------
// Request bodies: generated cases, as caseworker tools would send them.

/**
 * Referral rule sets are sent fixtures/backlog.ts's realistic referrals (as of the backlog's date);
 * the others read case-management facts a referral does not have, so they get fixtures/generator.ts's
 * varied cases. Each is kept only if the shipped rules would take it (valid facts, a version in
 * force on its date): a 4xx under load would then be the server's fault, not the bench's.
 */
export function bodyPool(ruleSet: string, count: number, seed: number): string[] {
  const versions = shippedRules().ruleSets.get(ruleSet);
  if (!versions) throw new Error(`there is no rule set "${ruleSet}" in rules/`);
  const referrals = ruleSet === 'direct-referral' || ruleSet === 'segment-allocation';
  const nextReferral = referrals ? backlogGenerator(seed, { asOf: DEFAULT_AS_OF }) : undefined;
  const nextCase = referrals ? undefined : caseGenerator(seed);
  const next = (): { asOf: string; facts: unknown } =>
    nextReferral ? { asOf: DEFAULT_AS_OF, facts: nextReferral().facts } : (nextCase as () => { asOf: string; facts: unknown })();
  const bodies: string[] = [];
  for (let tries = 0; bodies.length < count; tries += 1) {
    if (tries > count * 20) throw new Error(`${ruleSet}: only ${bodies.length} of ${tries} generated cases are accepted by the shipped rules`);
    const body = next();
    const version = versions.inForceOn(body.asOf);
    if (!version) continue;
    try {
      parseEvaluateRequest(body, ruleSet, version.file.requires, { copy: true });
    } catch {
      continue;
    }
    bodies.push(JSON.stringify(body));
  }
  return bodies;
}

// ---------------------------------------------------------------------------------------------
// The decision log, read directly: not through the service's own store code, so a fault in its read
// path cannot hide a missing decision (the HTTP spot-check reads it the auditor's way as well).

export interface LogReader {
  readonly where: string;
  count(): Promise<number>;
  /** The ids given that the log does not hold. */
  missing(ids: readonly string[]): Promise<string[]>;
  close(): Promise<void>;
}

/** Where src/decisions/sqlite.ts keeps the log, and the table and id column both stores create. */
const SQLITE_FILE = 'decisions.sqlite';
const TABLE = 'decisions';
const ID = 'decision_id';

/**
 * Read-only, a new connection per question: each sees every transaction committed when it asks (the
 * server's writers are other processes), and none can take a write lock from the server.
 */
export function sqliteReader(dataDir: string): LogReader {
  const file = path.join(dataDir, SQLITE_FILE);
  /** Runs `query` on a connection of its own, closed after. SQLite answers at once; LogReader promises, so a failure rejects (a throw here does). */
  const ask = <T>(query: (db: Database.Database) => T): Promise<T> =>
    new Promise((resolve) => {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        resolve(query(db));
      } finally {
        db.close();
      }
    });
  return {
    where: file,
    // Plucked, the row is its one column: the count.
    count: () => ask((db) => db.prepare<[], number>(`SELECT count(*) FROM ${TABLE}`).pluck().get() ?? 0),
    missing: (ids) =>
      ask((db) => {
        const held = new Set<string>();
        for (const id of db.prepare(`SELECT ${ID} FROM ${TABLE}`).pluck().iterate()) held.add(String(id).toLowerCase());
        return ids.filter((id) => !held.has(id.toLowerCase()));
      }),
    close: () => Promise.resolve(),
  };
}

export async function postgresReader(url: string): Promise<LogReader> {
  const client = new PgClient({ connectionString: url });
  await client.connect();
  const safe = new URL(url);
  return {
    where: `postgres ${safe.hostname}:${safe.port || 5432}${safe.pathname}`,
    async count() {
      const { rows } = await client.query<{ count: string }>(`SELECT count(*) AS count FROM ${TABLE}`);
      return Number(rows[0]?.count ?? 0);
    },
    async missing(ids) {
      const absent: string[] = [];
      // In slices: one statement per 10,000 ids keeps each parameter array well inside a message.
      for (let i = 0; i < ids.length; i += 10_000) {
        const slice = ids.slice(i, i + 10_000).map((id) => id.toLowerCase());
        const { rows } = await client.query<{ id: string }>(`SELECT ${ID}::text AS id FROM ${TABLE} WHERE ${ID}::text = ANY($1::text[])`, [slice]);
        const held = new Set(rows.map((r) => r.id.toLowerCase()));
        absent.push(...slice.filter((id) => !held.has(id)));
      }
      return absent;
    },
    close: () => client.end(),
  };
}

export function logReader(settings: { dataDir: string; decisionLogUrl?: string }): Promise<LogReader> {
  return settings.decisionLogUrl ? postgresReader(settings.decisionLogUrl) : Promise.resolve(sqliteReader(settings.dataDir));
}

/** Up to `size` of the ids, spread over the whole list (the first, the last and evenly between). */
export function sample(ids: readonly string[], size: number): string[] {
  if (ids.length <= size) return [...ids];
  if (size <= 1) return ids.slice(0, size);
  const picked: string[] = [];
  for (let i = 0; i < size; i += 1) picked.push(ids[Math.round((i * (ids.length - 1)) / (size - 1))] as string);
  return picked;
}

/**
 * Reads each decision back as an auditor would: GET /v1/decisions/{id} must answer 200 with that id,
 * the rule set asked and the caseworker key that asked. Returns a line per decision that did not.
 */
export async function spotCheck(base: string, auditor: BenchKey, ids: readonly string[], expected: { ruleSet: string; keyId: string }): Promise<string[]> {
  const problems: string[] = [];
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++] as string;
      try {
        const answer = await fetch(`${base}/v1/decisions/${id}`, { headers: { authorization: bearer(auditor) }, signal: AbortSignal.timeout(10_000) });
        const text = await answer.text();
        if (answer.status !== 200) {
          problems.push(`${id}: ${answer.status} ${text.slice(0, 200)}`);
          continue;
        }
        const record = JSON.parse(text) as { decisionId?: string; ruleSet?: string; keyId?: string };
        if (record.decisionId !== id || record.ruleSet !== expected.ruleSet || record.keyId !== expected.keyId) {
          problems.push(`${id}: recorded as ${JSON.stringify({ decisionId: record.decisionId, ruleSet: record.ruleSet, keyId: record.keyId })}`);
        }
      } catch (error) {
        problems.push(`${id}: ${(error as Error).message}`);
      }
    }
  };
  // A few at a time: this is a check, not more load.
  await Promise.all(Array.from({ length: 8 }, one));
  return problems;
}

/** The decision id a 200 carries: the X-Decision-Id header, which must equal the body's decisionId (its first member). */
export function decisionIdOf(headers: Record<string, unknown>, body: string): { id?: string; problem?: string } {
  let header: unknown;
  for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() === 'x-decision-id') header = value;
  const inBody = /^\{"decisionId":"([^"]+)"/.exec(body.slice(0, 80))?.[1];
  if (typeof header !== 'string' || header.length === 0) return { problem: 'no X-Decision-Id header' };
  if (inBody !== header) return { problem: `X-Decision-Id ${header} but decisionId ${inBody ?? '(none)'} in the body` };
  return { id: header };
}

// ---------------------------------------------------------------------------------------------
// The load run.

interface LoadOptions {
  base: string;
  ruleSet: string;
  bodies: readonly string[];
  key: BenchKey;
  connections: number;
  seconds: number;
}

export interface LoadRun {
  seconds: number;
  requestsPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Responses received, whatever their status. */
  total: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Requests written with no response read when the run ended: 0 if every connection drained. */
  unanswered: number;
  statuses: Record<string, number>;
  /** The ids of every 200, in the order read. */
  ids: string[];
  /** 200s whose id was missing or disagreed with the body's, and the first few of them. */
  idProblems: number;
  idExamples: string[];
  /** The first few non-2xx bodies, for the report. */
  samples: string[];
}

/**
 * autocannon, in this process, with every request's body the next from the pool and every response's
 * decision id kept. It stops as a well-behaved client does: at the deadline each connection sends
 * nothing more and ends after the answer to the request it has out. autocannon's own duration would
 * instead destroy the 64 connections with their requests in flight, which the server then decides
 * and records but nobody reads, and the log would hold up to 64 decisions more than were answered:
 * with a drain, the log must hold exactly the 200s. (autocannon ends a connection once it has made
 * `responseMax` requests; setting it to the requests made so far is that drain. Its own duration
 * stays as a backstop, DRAIN_GRACE_SECONDS later.)
 */
const DRAIN_GRACE_SECONDS = 15;

/** What autocannon's client has beyond its typings: the requests it has written, its cap, and the 'request' event it emits before each write (autocannon counts its own totalRequests from it). */
type CannonClient = NodeJS.EventEmitter & { reqsMade: number; responseMax?: number };

export async function runLoad(options: LoadOptions): Promise<LoadRun> {
  const { bodies } = options;
  const path = `/v1/rulesets/${options.ruleSet}/evaluate`;
  const clients: CannonClient[] = [];
  const ids: string[] = [];
  let idProblems = 0;
  const idExamples: string[] = [];
  const samples: string[] = [];
  let written = 0;
  let read = 0;
  let nextBody = 0;
  let startedAt = 0;
  let lastResponseAt = 0;
  let deadline: NodeJS.Timeout | undefined;

  const cannon: autocannon.Options = {
    url: options.base,
    connections: options.connections,
    duration: options.seconds + DRAIN_GRACE_SECONDS,
    requests: [
      {
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', authorization: bearer(options.key) },
        // Cycles through the pool: each request a different case, every connection drawing from the one sequence.
        setupRequest: (request) => ({ ...request, body: bodies[nextBody++ % bodies.length] }),
        onResponse: (status, body, _context, headers) => {
          if (status === 200) {
            const { id, problem } = decisionIdOf(headers as Record<string, unknown>, body);
            if (id) ids.push(id);
            else if (++idProblems <= 5) idExamples.push(problem as string);
          } else if (samples.length < 5) {
            samples.push(`${status} ${body.slice(0, 300)}`);
          }
        },
      },
    ],
    setupClient: (setup) => {
      const client = setup as unknown as CannonClient;
      clients.push(client);
      client.on('request', () => {
        written += 1;
      });
      client.on('response', () => {
        read += 1;
        lastResponseAt = now();
      });
    },
  };
  let instance: autocannon.Instance | undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(cannon, (error: Error | null, result) => (error ? reject(error) : resolve(result)));
  });
  instance?.on('start', () => {
    startedAt = now();
    deadline = setTimeout(() => {
      for (const client of clients) client.responseMax = Math.max(1, client.reqsMade);
    }, options.seconds * 1000);
  });
  const result = await done;
  clearTimeout(deadline);
  const seconds = ((lastResponseAt || now()) - startedAt) / 1000;
  const statuses: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = count ?? 0;
  return {
    seconds,
    requestsPerSecond: read / seconds,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    total: read,
    ok: statuses['200'] ?? 0,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    unanswered: written - read,
    statuses,
    ids,
    idProblems,
    idExamples,
    samples,
  };
}

// ---------------------------------------------------------------------------------------------

export const whole = (flag: string, raw: string | undefined, min: number): number => {
  const value = Number(raw);
  if (!/^\d+$/.test(raw ?? '') || value < min) throw new Error(`${flag} must be a whole number, ${min} or more (got ${raw})`);
  return value;
};

/** The options a load run and a kill run share. */
export const RUN_OPTIONS = {
  connections: { type: 'string', default: '64' },
  'rule-set': { type: 'string', default: 'segment-allocation' },
  cases: { type: 'string', default: '2000' },
  seed: { type: 'string', default: '4242' },
  'decision-log-url': { type: 'string' },
  'spot-check': { type: 'string', default: '100' },
} as const;

/** What a load run and a kill run share: the cases, the keys, a fresh data folder, and the server's environment. */
export function runSetup(
  values: { connections?: string; cases?: string; seed?: string; 'spot-check'?: string; 'rule-set'?: string; 'decision-log-url'?: string },
  tempPrefix: string,
) {
  const ruleSet = values['rule-set'] as string;
  const decisionLogUrl = values['decision-log-url'];
  const cases = whole('--cases', values.cases, 1);
  const seed = whole('--seed', values.seed, 0);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), tempPrefix));
  const keys = benchKeys();
  // The rate limiter runs and counts every request, as deployed, but with a limit the load cannot
  // reach: the default (6,000 a minute) is sized for one person's or one tool's traffic, and here one
  // key carries the load of a whole office. The run measures the service, not the limiter's 429s.
  const env = serverEnvironment({ dataDir, keys, decisionLogUrl, ratePerMinute: UNREACHED_RATE_LIMIT });
  return {
    connections: whole('--connections', values.connections, 1),
    spot: whole('--spot-check', values['spot-check'], 0),
    cases,
    seed,
    ruleSet,
    decisionLogUrl,
    dataDir,
    keys,
    env,
    bodies: bodyPool(ruleSet, cases, seed),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      ...RUN_OPTIONS,
      duration: { type: 'string', default: '30' },
      // An unrecorded few seconds first (JIT, every worker's code warm), as the bench's HTTP section does; its decisions are counted.
      warm: { type: 'string', default: '3' },
    },
  });
  const duration = whole('--duration', values.duration, 1);
  const warm = whole('--warm', values.warm, 0);
  const { connections, seed, spot, ruleSet, decisionLogUrl, dataDir, keys, env, bodies } = runSetup(values, 'ps-load-');
  const meanBytes = bodies.reduce((sum, b) => sum + b.length, 0) / bodies.length;

  say(`# ps-decision-service production load`);
  say(`machine: ${machineLine()}`);
  say(
    `settings: ${workersSetting()}; RATE_LIMIT_PER_MINUTE=${UNREACHED_RATE_LIMIT} (counted, not reached); decision log ${decisionLogUrl ? `DECISION_LOG_URL (${new URL(decisionLogUrl).host}${new URL(decisionLogUrl).pathname})` : `SQLite under DATA_DIR=${dataDir}`}; keys ${keys.caseworker.id} (caseworker), ${keys.auditor.id} (auditor)`,
  );
  say(
    `load: POST /v1/rulesets/${ruleSet}/evaluate, ${connections} connections, ${duration} s measured after ${warm} s warm-up, ${n(bodies.length)} generated cases cycled (mean ${n(meanBytes)} B), seed ${seed}`,
  );

  const failures: string[] = [];
  const port = await freePort();
  const server = new ServerProcess(port, env, path.join(dataDir, 'server.log'));
  let reader: LogReader | undefined;
  try {
    const readyMs = await server.ready();
    say(`server pid ${server.pid} on ${server.base}, ready in ${secs(readyMs)}; its output: ${server.logFile}`);
    reader = await logReader({ dataDir, decisionLogUrl });
    // A log shared with other runs (PostgreSQL) already holds decisions: only this run's are counted.
    const before = await reader.count();

    // One request by hand first: a wrong key, a refused body or a missing id is clearer here than as 100,000 non-2xx.
    const probe = await fetch(`${server.base}/v1/rulesets/${ruleSet}/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: bearer(keys.caseworker) },
      body: bodies[0],
    });
    const probeBody = await probe.text();
    if (probe.status !== 200) throw new Error(`the probe request was answered ${probe.status}: ${probeBody.slice(0, 500)}`);
    const probeId = decisionIdOf(Object.fromEntries(probe.headers), probeBody);
    if (!probeId.id) throw new Error(`the probe's answer: ${probeId.problem}`);
    const answered: string[] = [probeId.id];

    const load = { base: server.base, ruleSet, bodies, key: keys.caseworker, connections };
    if (warm > 0) {
      const warmRun = await runLoad({ ...load, seconds: warm });
      for (const id of warmRun.ids) answered.push(id);
      say(`warm-up: ${n(warmRun.total)} requests, ${n(warmRun.ok)} answered 200, non-2xx ${warmRun.non2xx}, errors ${warmRun.errors}`);
      if (warmRun.non2xx + warmRun.errors > 0 || warmRun.idProblems > 0)
        failures.push(`warm-up: non-2xx ${warmRun.non2xx}, errors ${warmRun.errors}, id problems ${warmRun.idProblems}`);
    }
    const run = await runLoad({ ...load, seconds: duration });
    // Not push(...ids): a run's few hundred thousand ids are more arguments than a call may take.
    for (const id of run.ids) answered.push(id);

    say('');
    say(`## measured: ${run.seconds.toFixed(1)} s`);
    say(`throughput  ${n(run.requestsPerSecond)} req/s`);
    say(`latency     p50 ${run.p50} ms, p90 ${run.p90} ms, p99 ${run.p99} ms, max ${run.max} ms`);
    say(
      `requests    ${n(run.total)} answered (${
        Object.entries(run.statuses)
          .map(([code, count]) => `${code}: ${n(count)}`)
          .join(', ') || 'none'
      }), non-2xx ${n(run.non2xx)}, errors ${n(run.errors)} (timeouts ${n(run.timeouts)}), unanswered at the end ${run.unanswered}`,
    );
    for (const s of run.samples) say(`  non-2xx: ${s}`);
    for (const p of run.idExamples) say(`  id: ${p}`);
    if (run.non2xx > 0) failures.push(`${n(run.non2xx)} non-2xx answers`);
    if (run.errors > 0) failures.push(`${n(run.errors)} errors (timeouts ${run.timeouts})`);
    if (run.idProblems > 0) failures.push(`${run.idProblems} 200 answers without a matching decision id`);
    if (run.unanswered !== 0) failures.push(`${run.unanswered} requests were still unanswered when the run ended (the drain did not complete)`);

    // The log against the answers: the same number, and every id answered among them.
    say('');
    say(`## decision log (${reader.where})`);
    const unique = new Set(answered).size;
    if (unique !== answered.length) failures.push(`${answered.length - unique} decision ids were answered more than once`);
    const held = (await reader.count()) - before;
    const missing = await reader.missing(answered);
    say(
      `answered 200 ${n(answered.length)} (probe 1, warm-up ${n(answered.length - 1 - run.ids.length)}, measured ${n(run.ids.length)}); decisions in the log ${n(held)}; answered but not in the log ${n(missing.length)}`,
    );
    if (held !== answered.length) failures.push(`the log holds ${n(held)} decisions for ${n(answered.length)} answered 200`);
    if (missing.length > 0) failures.push(`${n(missing.length)} answered decisions are not in the log, e.g. ${missing.slice(0, 3).join(', ')}`);
    if (spot > 0) {
      const checked = sample(answered, spot);
      const problems = await spotCheck(server.base, keys.auditor, checked, { ruleSet, keyId: keys.caseworker.id });
      say(`GET /v1/decisions/{id} (auditor key): ${checked.length - problems.length} of ${checked.length} sampled ids read back as recorded`);
      for (const p of problems.slice(0, 5)) say(`  ${p}`);
      if (problems.length > 0) failures.push(`${problems.length} of ${checked.length} sampled decisions did not read back over HTTP`);
    }

    say('');
    say('## shutdown');
    await server.stopReported(failures);
    // Read again once it has closed the log: a clean stop must lose nothing.
    const after = (await reader.count()) - before;
    say(`decisions in the log after the stop: ${n(after)}`);
    if (after !== answered.length) failures.push(`after the stop the log holds ${n(after)} decisions for ${n(answered.length)} answered 200`);
  } catch (error) {
    failures.push((error as Error).message);
  } finally {
    await reader?.close();
    if (!server.exit) await server.stop();
  }

  say('');
  if (failures.length > 0) {
    say(`FAILED:`);
    for (const f of failures) say(`  - ${f}`);
    say(`server output (last lines), full log in ${server.logFile}:`);
    say(server.logTail(3000));
    return 1;
  }
  say('OK: no errors, no non-2xx, the log holds exactly the decisions answered, and the server stopped cleanly.');
  rmSync(dataDir, { recursive: true, force: true });
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`load failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
