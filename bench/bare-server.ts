// The bench's yardstick for the service's HTTP edges: a bare Express 5 route doing what POST …/evaluate does at
// its core (read the JSON body, decide, record in a SQLite decision log of its own, answer the decision's JSON), on
// as many cluster workers, with none of the edges (no key, rate limit, timeout, request log, metrics, helmet,
// compression, body checks or problem documents). `npm run bench` (section e) puts the service's req/s over this.
//   tsx bench/bare-server.ts   PORT, WORKERS, DATA_DIR from the environment
import cluster from 'node:cluster';
import express from 'express';
import { todayInSydney } from '../src/dates/calendar';
import { openDecisionLog } from '../src/decisions/open';
import { DecisionRecorder } from '../src/decisions/recorder';
import { decideRequest } from '../src/api/decide-request';
import { decisionJson } from '../src/api/decision-json';
import { shippedRegistry } from './common';

const port = Number(process.env.PORT ?? 3100);
const workers = Number(process.env.WORKERS ?? 1);
const dataDir = process.env.DATA_DIR ?? 'data';

async function serve(): Promise<void> {
  const registry = shippedRegistry();
  const recorder = new DecisionRecorder(await openDecisionLog({ dataDir, mustExist: cluster.isWorker }), { keepFacts: false });
  const app = express();
  app.set('etag', false);
  app.post('/v1/rulesets/:name/evaluate', express.json({ limit: 1024 * 1024 }), async (req, res) => {
    const versions = registry.ruleSets.get(req.params.name);
    if (!versions) {
      res.status(404).end();
      return;
    }
    const made = decideRequest(versions, req.body, 'compiled', () => todayInSydney(new Date()));
    const decided = made instanceof Promise ? await made : made;
    const record = recorder.entry(decided, 'bench');
    await recorder.commit([record], [decided.ruleSet]);
    res.type('json').send(decisionJson(decided.decision as Parameters<typeof decisionJson>[0], record.decisionId));
  });
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.listen(port, '127.0.0.1');
}

async function main(): Promise<void> {
  if (cluster.isPrimary && workers > 1) {
    // The primary creates the log file; the workers open it (as server.ts does).
    await (await openDecisionLog({ dataDir })).close();
    for (let i = 0; i < workers; i += 1) cluster.fork();
    process.on('SIGTERM', () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
      process.exit(0);
    });
    return;
  }
  await serve();
}

main().catch((error: unknown) => {
  process.stderr.write(`bare server failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
