// (e) HTTP evaluate throughput and latency: the built server on loopback (WORKERS = cores), autocannon
// in a process of its own (load.ts), one realistic body per rule set measured; beside it the same bodies on a bare
// Express 5 route doing the same decide-record-answer without the edges (bare-server.ts), so the edges' cost shows
// as a ratio; and one evaluate-batch stream of segment allocations, with ?explain=none and with the explanation.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { backlogGenerator, DEFAULT_AS_OF } from '../fixtures/backlog';
import { Running, runNode } from './child';
import type { LoadFigures, LoadSpec } from './load';
import { LIGHT } from '../test/system/faults/cluster';
import { UNREACHED_RATE_LIMIT } from '../test/system/production-load';
import { freePort, mib, n, now, say, secs } from './common';
import type { BenchSettings } from './settings';

const SERVER = path.resolve(__dirname, '..', 'dist', 'src', 'server.js');
const LOAD = path.join(__dirname, 'load.ts');
const BARE = path.join(__dirname, 'bare-server.ts');

/** One body's figures from the load generator. */
export interface HttpRun extends LoadFigures {
  ruleSet: string;
}

/** One evaluate-batch stream, timed from the request's first byte to the answer's last. */
export interface BatchRun {
  explain: 'none' | 'full';
  lines: number;
  /** Answer lines that carried a decision (the rest were problems). */
  decisions: number;
  /** The decisions the decision log holds for this stream's key, counted after the server stopped. */
  logged: number;
  wallMs: number;
  decisionsPerSecond: number;
  answerBytes: number;
}

export interface HttpFigures {
  /** The service, every edge in place. */
  service: HttpRun[];
  /** The bare Express 5 route, the same bodies. */
  bare: HttpRun[];
  batch: BatchRun[];
}

async function waitForHealth(base: string, server: Running): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== undefined) throw new Error(`the server exited (${server.exitCode}) before /health answered:\n${server.outputTail}`);
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no answer from ${base}/health within 30 s:\n${server.outputTail}`);
}

/** A referral from a generated backlog as a caseworker tool would send it, and the README's direct-referral example (LIGHT). */
function bodies(seed: number): { ruleSet: string; body: string }[] {
  const referral = backlogGenerator(seed, { asOf: DEFAULT_AS_OF })();
  return [{ ruleSet: 'segment-allocation', body: JSON.stringify({ asOf: DEFAULT_AS_OF, facts: referral.facts }) }, LIGHT];
}

/** autocannon (load.ts, a process of its own) against one evaluate URL with one body. */
async function load(url: string, body: string, headers: Record<string, string>, settings: BenchSettings): Promise<LoadFigures> {
  const spec: LoadSpec = { url, body, headers, connections: settings.httpConnections, warmSeconds: settings.httpWarmSeconds, seconds: settings.httpSeconds };
  const client = await runNode([LOAD, JSON.stringify(spec)]);
  const line = client.outputTail.split('\n').find((l) => l.startsWith('{'));
  if (client.code !== 0 || !line) throw new Error(`the load generator failed:\n${client.outputTail}`);
  return JSON.parse(line) as LoadFigures;
}

/** The bench's segment-allocation referrals as one NDJSON body, each line with its id. */
function batchBody(lines: number, seed: number): Buffer {
  const next = backlogGenerator(seed, { asOf: DEFAULT_AS_OF });
  const text: string[] = [];
  for (let i = 1; i <= lines; i += 1) text.push(`${JSON.stringify({ id: i, asOf: DEFAULT_AS_OF, facts: next().facts })}\n`);
  return Buffer.from(text.join(''));
}

/** One batch stream: the body sent as fast as the server reads it, the answer counted line by line as it arrives, never kept. */
function streamBatch(url: string, secret: string, body: Buffer): Promise<{ decisions: number; answered: number; answerBytes: number; wallMs: number }> {
  const started = now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/x-ndjson', 'content-length': body.length, authorization: `Bearer ${secret}` } },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`evaluate-batch answered ${res.statusCode}`));
          res.resume();
          return;
        }
        let answered = 0;
        let decisions = 0;
        let answerBytes = 0;
        // The start of the line being read: enough to see whether it carries a decision or a problem.
        let head = '';
        res.on('data', (chunk: Buffer) => {
          answerBytes += chunk.length;
          let from = 0;
          for (;;) {
            const newline = chunk.indexOf(0x0a, from);
            const end = newline === -1 ? chunk.length : newline;
            if (head.length < 64) head += chunk.toString('latin1', from, Math.min(end, from + 64));
            if (newline === -1) break;
            answered += 1;
            if (/^\{"line":\d+,"id":[^,]*,"decision":/.test(head)) decisions += 1;
            head = '';
            from = newline + 1;
          }
        });
        res.on('end', () => resolve({ decisions, answered, answerBytes, wallMs: now() - started }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function batchRuns(
  base: string,
  secrets: Record<'none' | 'full' | 'warm', string>,
  settings: BenchSettings,
  workers: number,
): Promise<Omit<BatchRun, 'logged'>[]> {
  const lines = settings.batchLines;
  const body = batchBody(lines, settings.seed);
  // A worker starts its decider threads for its first batch (batch-deciders.ts: some 300 ms, deciding the lines itself
  // meanwhile), as the HTTP runs above warm up first: a short stream to each worker first, unrecorded, under a key of
  // its own. Each is a new connection, and the cluster hands new connections to its workers in turn.
  const warmUp = batchBody(2_000, settings.seed + 1);
  for (let i = 0; i < 2 * workers; i += 1) await streamBatch(`${base}/v1/rulesets/segment-allocation/evaluate-batch?explain=none`, secrets.warm, warmUp);
  say(`evaluate-batch: first ${2 * workers} streams of 2,000 lines, unrecorded, so that each worker has started its decider thread`);
  const runs: Omit<BatchRun, 'logged'>[] = [];
  for (const explain of ['none', 'full'] as const) {
    const url = `${base}/v1/rulesets/segment-allocation/evaluate-batch${explain === 'none' ? '?explain=none' : ''}`;
    const { decisions, answered, answerBytes, wallMs } = await streamBatch(url, secrets[explain], body);
    if (answered !== lines) throw new Error(`evaluate-batch (explain ${explain}) answered ${answered} lines of ${lines}`);
    const run = { explain, lines, decisions, wallMs, decisionsPerSecond: (decisions / wallMs) * 1000, answerBytes };
    runs.push(run);
    say(
      `evaluate-batch, ${n(lines)} segment allocations (${mib(body.length)} sent), explain=${explain}: ${n(run.decisionsPerSecond)} decisions/s, ${secs(wallMs)}, ${n(decisions)} decisions, ${answerBytes >= 1024 * 1024 ? mib(answerBytes) : `${n(answerBytes)} B`} answered`,
    );
  }
  return runs;
}

/** Decisions the SQLite log holds per key id. */
function loggedByKey(dataDir: string): Map<string, number> {
  const db = new Database(path.join(dataDir, 'decisions.sqlite'), { readonly: true });
  try {
    const rows = db.prepare('SELECT key_id AS key, count(*) AS count FROM decisions GROUP BY key_id').all() as { key: string; count: number }[];
    return new Map(rows.map((r) => [r.key, r.count]));
  } finally {
    db.close();
  }
}

export async function httpThroughput(settings: BenchSettings): Promise<HttpFigures> {
  const workers = os.availableParallelism();
  const figures: HttpFigures = { service: [], bare: [], batch: [] };
  const secret = () => `bench-${randomBytes(24).toString('base64url')}`;
  // One key for the load, one for each batch stream and one for the streams that warm the workers up, so the decision log can be asked what each stream recorded.
  const secrets = { load: secret(), none: secret(), full: secret(), warm: secret() };
  const servicePort = await freePort();
  const service = `http://127.0.0.1:${servicePort}`;
  const barePort = await freePort();
  const bare = `http://127.0.0.1:${barePort}`;
  // The server as deployed: configured keys, its own decision log (every evaluation is recorded
  // before it is answered), and the rate limiter counting every request, with a limit the load cannot reach.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ps-bench-log-'));
  const bareDir = mkdtempSync(path.join(os.tmpdir(), 'ps-bench-bare-'));
  const keys = `bench:caseworker:${secrets.load},batch-none:caseworker:${secrets.none},batch-full:caseworker:${secrets.full},batch-warm:caseworker:${secrets.warm}`;
  const server = new Running([SERVER], {
    ...process.env,
    PORT: String(servicePort),
    WORKERS: String(workers),
    API_KEYS: keys,
    DATA_DIR: dataDir,
    RATE_LIMIT_PER_MINUTE: String(UNREACHED_RATE_LIMIT),
  });
  // The bare route runs beside it (idle while the service is measured, and the other way round), and each body is
  // measured on one and then at once on the other, so that a machine busy with other work weighs on both alike.
  const bareServer = new Running([BARE], { ...process.env, PORT: String(barePort), WORKERS: String(workers), DATA_DIR: bareDir });
  let batch: Omit<BatchRun, 'logged'>[];
  try {
    await waitForHealth(service, server);
    await waitForHealth(bare, bareServer);
    say(
      `the service: pid ${server.pid} on ${service}, WORKERS=${workers}; a bare Express 5 route (express.json, decide, record, answer; no edges): pid ${bareServer.pid} on ${bare}, WORKERS=${workers}`,
    );
    say(
      `${settings.httpConnections} connections for ${secs(settings.httpSeconds * 1000)} per body and server, after ${secs(settings.httpWarmSeconds * 1000)} unrecorded`,
    );
    for (const { ruleSet, body } of bodies(settings.seed)) {
      const url = `${service}/v1/rulesets/${ruleSet}/evaluate`;
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${secrets.load}` };
      const probe = await fetch(url, { method: 'POST', headers, body });
      const answer = (await probe.json()) as { outcome?: Record<string, unknown> };
      if (!probe.ok) throw new Error(`${ruleSet}: the server answered ${probe.status} to the bench body: ${JSON.stringify(answer)}`);
      const run: HttpRun = { ruleSet, ...(await load(url, body, headers, settings)) };
      figures.service.push(run);
      const yardstick: HttpRun = {
        ruleSet,
        ...(await load(`${bare}/v1/rulesets/${ruleSet}/evaluate`, body, { 'content-type': 'application/json' }, settings)),
      };
      figures.bare.push(yardstick);
      say(`${ruleSet} (${body.length} B body, outcome ${JSON.stringify(answer.outcome).slice(0, 80)}):`);
      say(
        `  the service: ${n(run.requestsPerSecond)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms, ${n(run.total)} requests, errors ${run.errors}, timeouts ${run.timeouts}, non-2xx ${run.non2xx}`,
      );
      say(
        `  bare route:  ${n(yardstick.requestsPerSecond)} req/s, p50 ${yardstick.p50} ms, p99 ${yardstick.p99} ms, errors ${yardstick.errors + yardstick.timeouts + yardstick.non2xx}; the service / bare ${(run.requestsPerSecond / yardstick.requestsPerSecond).toFixed(2)}`,
      );
    }
    await bareServer.stop();
    batch = await batchRuns(service, secrets, settings, workers);
    if (server.exitCode !== undefined) throw new Error(`the server exited (${server.exitCode}) during the run:\n${server.outputTail}`);
  } finally {
    await bareServer.stop();
    await server.stop();
    rmSync(bareDir, { recursive: true, force: true });
  }
  try {
    const logged = loggedByKey(dataDir);
    figures.batch = batch.map((run) => ({ ...run, logged: logged.get(`batch-${run.explain}`) ?? 0 }));
    for (const run of figures.batch)
      say(`  the decision log holds ${n(run.logged)} decisions of the explain=${run.explain} stream (${n(run.decisions)} answered)`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  return figures;
}
