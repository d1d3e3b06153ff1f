// (e) HTTP evaluate throughput and latency: the built server on loopback (WORKERS = cores), autocannon
// in a process of its own (load.ts), one realistic body per rule set measured.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backlogGenerator, DEFAULT_AS_OF } from '../fixtures/backlog';
import { Running, runNode } from './child';
import type { LoadFigures, LoadSpec } from './load';
import { UNREACHED_RATE_LIMIT } from '../test/system/production-load';
import { freePort, n, say, secs } from './common';
import type { BenchSettings } from './settings';

const SERVER = path.resolve(__dirname, '..', 'dist', 'src', 'server.js');
const LOAD = path.join(__dirname, 'load.ts');

/** One body's figures from the load generator. */
export interface HttpRun extends LoadFigures {
  ruleSet: string;
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

/** A referral from a generated backlog as a caseworker tool would send it, and the README's direct-referral example. */
function bodies(seed: number): { ruleSet: string; body: string }[] {
  const referral = backlogGenerator(seed, { asOf: DEFAULT_AS_OF })();
  return [
    { ruleSet: 'segment-allocation', body: JSON.stringify({ asOf: DEFAULT_AS_OF, facts: referral.facts }) },
    {
      ruleSet: 'direct-referral',
      body: JSON.stringify({
        asOf: '2025-04-17',
        facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-04-17' }, customer: { incidents: [{ date: '2025-02-03', kind: 'verbal-abuse', setting: 'phone' }] } },
      }),
    },
  ];
}

export async function httpThroughput(settings: BenchSettings): Promise<HttpRun[]> {
  const port = await freePort();
  const workers = os.availableParallelism();
  const base = `http://127.0.0.1:${port}`;
  // The server as deployed: a configured key, its own decision log (every evaluation is recorded
  // before it is answered), and the rate limiter counting every request, with a limit the load cannot reach.
  const secret = `bench-${randomBytes(24).toString('base64url')}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ps-bench-log-'));
  const server = new Running([SERVER], { ...process.env, PORT: String(port), WORKERS: String(workers), API_KEYS: `bench:caseworker:${secret}`, DATA_DIR: dataDir, RATE_LIMIT_PER_MINUTE: String(UNREACHED_RATE_LIMIT) });
  const runs: HttpRun[] = [];
  try {
    await waitForHealth(base, server);
    say(`server pid ${server.pid} on ${base}, WORKERS=${workers}; ${settings.httpConnections} connections for ${secs(settings.httpSeconds * 1000)} per body, after ${secs(settings.httpWarmSeconds * 1000)} unrecorded`);
    for (const { ruleSet, body } of bodies(settings.seed)) {
      const url = `${base}/v1/rulesets/${ruleSet}/evaluate`;
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${secret}` };
      const probe = await fetch(url, { method: 'POST', headers, body });
      const answer = (await probe.json()) as { outcome?: Record<string, unknown> };
      if (!probe.ok) throw new Error(`${ruleSet}: the server answered ${probe.status} to the bench body: ${JSON.stringify(answer)}`);
      const spec: LoadSpec = { url, body, headers, connections: settings.httpConnections, warmSeconds: settings.httpWarmSeconds, seconds: settings.httpSeconds };
      const client = await runNode([LOAD, JSON.stringify(spec)]);
      const line = client.outputTail.split('\n').find((l) => l.startsWith('{'));
      if (client.code !== 0 || !line) throw new Error(`${ruleSet}: the load generator failed:\n${client.outputTail}`);
      const run: HttpRun = { ruleSet, ...(JSON.parse(line) as LoadFigures) };
      runs.push(run);
      say(`${ruleSet} (${body.length} B body, outcome ${JSON.stringify(answer.outcome).slice(0, 80)}):`);
      say(`  ${n(run.requestsPerSecond)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms, ${n(run.total)} requests, errors ${run.errors}, timeouts ${run.timeouts}, non-2xx ${run.non2xx}`);
    }
    if (server.exitCode !== undefined) throw new Error(`the server exited (${server.exitCode}) during the run:\n${server.outputTail}`);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return runs;
}
