// Runs the service: loads rules/, opens the decision log, serves the API on $PORT (default 3000) from $WORKERS processes (node:cluster), logs as JSON, stops gracefully.
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { generatedKeysSpec, keysFromEnvironment } from './api/access';
import { createApp } from './api/app';
import { limitedServer, limitsFromEnvironment, workerShare } from './api/limits';
import { Metrics, servePrimaryMetrics } from './api/metrics';
import { openDecisionLog } from './decisions/open';
import type { DecisionLog } from './decisions/log';
import { DecisionRecorder } from './decisions/recorder';
import { DecisionError, issueLines } from './errors';
import { defaultRulesDirectory, loadRules, versionsByFile } from './loader/load';
import { RuleStore, type ReloadReport } from './loader/store';
import { RULE_SET_MODULES } from './rulesets';

// Written asynchronously: lines logged while a write is under way go out together in the next one, rather than a
// blocking write per line at thousands of requests a second. pino flushes what is left when the process exits.
const rootLogger = pino({ name: 'ps-decision-service' }, pino.destination({ sync: false }));
const rulesDirectory = process.env.RULES_DIR ?? defaultRulesDirectory();
const port = Number(process.env.PORT ?? 3000);
/** Where the SQLite decision log lives (unless DECISION_LOG_URL names a PostgreSQL database). */
const dataDir = path.resolve(process.env.DATA_DIR ?? 'data');

// How long a graceful stop may take before the process gives up on requests in flight.
const STOP_GRACE_MS = 10_000;
// How long a reload waits for the other workers to confirm theirs before answering anyway.
const RELOAD_BROADCAST_MS = 5_000;
// A worker that keeps dying is a fault a restart will not fix: past this many restarts a minute, stop.
const MAX_RESTARTS_PER_MINUTE = 10;

/** Messages between the primary and its workers, over the cluster's IPC channel. */
type ToPrimary = { kind: 'reload-all'; request: number } | { kind: 'reloaded'; request: number; ok: boolean };
type ToWorker = { kind: 'reload'; request: number } | { kind: 'reload-all-done'; request: number; workers: number };

const isMessage = (message: unknown): message is { kind: string; request: number } =>
  typeof message === 'object' && message !== null && typeof (message as { kind?: unknown }).kind === 'string' && typeof (message as { request?: unknown }).request === 'number';

function fatal(details: object, message: string): never {
  rootLogger.fatal(details, message);
  process.exit(1);
}

/** WORKERS: unset means one per core; 1 serves in this process without a cluster. */
function workerCount(): number {
  const raw = process.env.WORKERS?.trim();
  if (!raw) return availableParallelism();
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1) fatal({ WORKERS: raw }, 'WORKERS must be a whole number of processes, 1 or more; not starting');
  return count;
}

function rulesRefused(error: unknown): never {
  const issues = error instanceof DecisionError ? error.issues : [];
  const where = issueLines(issues);
  fatal({ rulesDirectory, issues, err: error }, `rules could not be loaded; not starting\n${where}`);
}

/**
 * The API keys, read (or, with none configured, generated) once by the process that starts: a
 * cluster's workers inherit them through API_KEYS, so every worker accepts the same keys.
 */
function settleKeys(): void {
  let generated;
  try {
    generated = keysFromEnvironment(process.env).generated;
  } catch (error) {
    fatal({ err: error }, `API keys could not be read; not starting: ${(error as Error).message}`);
  }
  if (!generated) return;
  process.env.API_KEYS = generatedKeysSpec(generated);
  // A local run works out of the box: these keys are new at every start and printed only here.
  const lines = generated.map((k) => `  ${k.role.padEnd(10)} Authorization: Bearer ${k.secret}`).join('\n');
  rootLogger.warn({ keys: generated.map((k) => ({ id: k.id, role: k.role })) }, 'no API_KEYS or API_KEYS_FILE: generated development keys for this run only');
  process.stderr.write(`\nDevelopment API keys (generated for this run; set API_KEYS or API_KEYS_FILE in production):\n${lines}\n\n`);
}

/** The decision log, or no start at all: a decision must never be given unrecorded. */
async function openLog(logger: pino.Logger): Promise<DecisionLog> {
  try {
    return await openDecisionLog({ url: process.env.DECISION_LOG_URL, dataDir, onIdleError: (error) => logger.warn({ err: error }, 'decision log: an idle PostgreSQL connection failed; the pool replaces it') });
  } catch (error) {
    fatal({ err: error, dataDir }, 'the decision log could not be opened; not starting (a decision must never be given unrecorded)');
  }
}

function settings() {
  try {
    const limits = limitsFromEnvironment(process.env);
    const keepFacts = process.env.DECISION_LOG_FACTS;
    if (keepFacts !== undefined && keepFacts !== 'keep' && keepFacts !== 'digest') throw new Error(`DECISION_LOG_FACTS must be "digest" (the default: facts are kept only as a salted digest) or "keep" (got "${keepFacts}")`);
    return { ...limits, keepFacts: keepFacts === 'keep' };
  } catch (error) {
    fatal({ err: error }, `${(error as Error).message}; not starting`);
  }
}

/** One serving process: its own RuleStore and file watch, decision log connection, and the HTTP server. */
function serve(clustered: boolean): void {
  void serveAsync(clustered);
}

async function serveAsync(clustered: boolean): Promise<void> {
  const logger = clustered ? rootLogger.child({ worker: cluster.worker?.id }) : rootLogger;
  let store: RuleStore;
  try {
    store = new RuleStore(rulesDirectory, RULE_SET_MODULES, logger);
  } catch (error) {
    rulesRefused(error);
  }

  // A reload asked of one worker is carried out by all: the primary asks the others and says when they have confirmed.
  let nextRequest = 1;
  const waiting = new Map<number, () => void>();
  const reloadEverywhere = async (): Promise<ReloadReport> => {
    const report = store.reload();
    if (!clustered || !report.ok || !process.send) return report;
    const request = nextRequest++;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(request);
        logger.warn({ request }, 'reload: the other workers did not all confirm in time; they will pick up the edit from their file watch');
        resolve();
      }, RELOAD_BROADCAST_MS);
      waiting.set(request, () => {
        clearTimeout(timer);
        resolve();
      });
      process.send!({ kind: 'reload-all', request } satisfies ToPrimary);
    });
    return report;
  };
  if (clustered) {
    process.on('message', (message: unknown) => {
      if (!isMessage(message)) return;
      const m = message as ToWorker;
      if (m.kind === 'reload') {
        const report = store.reload();
        process.send?.({ kind: 'reloaded', request: m.request, ok: report.ok } satisfies ToPrimary);
      } else if (m.kind === 'reload-all-done') {
        waiting.get(m.request)?.();
        waiting.delete(m.request);
      }
    });
  }

  const config = settings();
  const { ring } = keysFromEnvironment(process.env);
  const log = await openLog(logger);
  const metrics = new Metrics();
  store.onReload = (report) => metrics.reload(report.ok);
  const recorder = new DecisionRecorder(log, {
    keepFacts: config.keepFacts,
    onWrite: (ok, seconds) => metrics.logWrite(ok, seconds),
    onError: (error) => logger.error({ err: error, decisionLog: log.location }, 'decision log write failed; the request is answered 503'),
  });

  // Edited rule files are picked up as they are saved; POST /v1/admin/reload does the same on demand.
  store.watch();
  const app = createApp({
    rules: () => store.current(),
    reload: reloadEverywhere,
    candidateRules: () => loadRules(rulesDirectory, { modules: RULE_SET_MODULES }),
    logger,
    access: ring,
    recorder,
    metrics,
    clustered,
    requestLogger: logger,
    // Each worker allows its share, so a key never exceeds the limit across the cluster (limits.ts).
    ratePerMinute: clustered ? workerShare(config.ratePerMinute, Number(process.env.PS_CLUSTER_WORKERS ?? 1)) : config.ratePerMinute,
    requestTimeoutMs: config.requestTimeoutMs,
    batch: config.batch,
  });
  // Header, request and idle timeouts and a connection cap (limits.ts), before Express sees a request.
  const server = limitedServer(app, config.server).listen(port, () => {
    const versions = versionsByFile(store.current());
    // The port bound, not the one asked for: PORT=0 picks a free one (shared by every worker in a cluster).
    const address = server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port;
    logger.info({ port: bound, rulesDirectory, versions, decisionLog: log.kind, decisionLogAt: log.location, keys: ring.ids() }, `listening on http://localhost:${bound}`);
  });
  server.on('error', (error) => fatal({ port, err: error }, `cannot serve on port ${port}; stopping`));

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing requests in flight');
    store.close();
    // In-flight requests finish (each commits its decision first), then the log closes, then the process ends.
    server.close(() => {
      void log.close().finally(() => process.exit(0));
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(1), STOP_GRACE_MS).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** The cluster primary: checks the rules once, forks the workers, restarts the ones that die, relays reloads and stops. */
async function supervise(workers: number): Promise<void> {
  // Refuse to start on bad rules, or a decision log that cannot be opened, here, once, rather than
  // watch every worker fail on them (and be restarted into the same failure).
  try {
    loadRules(rulesDirectory, { modules: RULE_SET_MODULES });
  } catch (error) {
    rulesRefused(error);
  }
  await (await openLog(rootLogger)).close();

  let stopping = false;
  let exitCode = 0;
  const restarts: number[] = [];
  // A relayed reload: who asked (and their request number), and the workers yet to confirm.
  let nextBroadcast = 1;
  // Forked and not yet exited (cluster.workers can still list a worker in its exit event).
  const running = new Set<number>();
  const broadcasts = new Map<number, { asker: Worker; request: number; workers: number; pending: Set<number> }>();

  const live = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());

  const fork = (): Worker => {
    const worker = cluster.fork({ PS_CLUSTER_WORKERS: String(workers) });
    running.add(worker.id);
    worker.on('message', (message: unknown) => {
      if (!isMessage(message)) return;
      const m = message as ToPrimary;
      if (m.kind === 'reload-all') relayReload(worker, m.request);
      else if (m.kind === 'reloaded') confirm(m.request, worker.id, m.ok);
    });
    return worker;
  };

  function relayReload(asker: Worker, request: number): void {
    const others = live().filter((w) => w.id !== asker.id);
    const broadcast = nextBroadcast++;
    broadcasts.set(broadcast, { asker, request, workers: others.length + 1, pending: new Set(others.map((w) => w.id)) });
    for (const w of others) w.send({ kind: 'reload', request: broadcast } satisfies ToWorker);
    settle(broadcast);
  }

  function confirm(broadcast: number, workerId: number, ok: boolean): void {
    if (!ok) rootLogger.warn({ worker: workerId }, 'a worker refused the relayed reload; it keeps its last good rules');
    broadcasts.get(broadcast)?.pending.delete(workerId);
    settle(broadcast);
  }

  /** Answers the asking worker once every other worker has confirmed (or died). */
  function settle(broadcast: number): void {
    const entry = broadcasts.get(broadcast);
    if (!entry || entry.pending.size > 0) return;
    broadcasts.delete(broadcast);
    rootLogger.info({ asker: entry.asker.id, workers: entry.workers }, 'rules reload relayed to every worker');
    if (entry.asker.isConnected()) entry.asker.send({ kind: 'reload-all-done', request: entry.request, workers: entry.workers } satisfies ToWorker);
  }

  cluster.on('exit', (worker, code, signal) => {
    running.delete(worker.id);
    // A worker that dies mid-relay will never confirm: count it out.
    for (const [broadcast, entry] of broadcasts) {
      entry.pending.delete(worker.id);
      settle(broadcast);
    }
    if (stopping) {
      if (running.size === 0) {
        rootLogger.info({}, 'stopped: every worker has finished');
        process.exit(exitCode);
      }
      return;
    }
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && restarts[0]! < now - 60_000) restarts.shift();
    if (restarts.length > MAX_RESTARTS_PER_MINUTE) {
      rootLogger.fatal({ worker: worker.id, workerPid: worker.process.pid, code, signal }, `workers died ${restarts.length} times in a minute; stopping rather than restarting again`);
      stop('restart-limit', 1);
      return;
    }
    rootLogger.error({ worker: worker.id, workerPid: worker.process.pid, code, signal }, 'worker died unexpectedly; starting another');
    fork();
  });

  function stop(signal: string, code = 0): void {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    rootLogger.info({ signal, workers: live().length }, 'stopping: each worker finishes its requests in flight');
    // Each worker stops gracefully on SIGTERM (server.close, then exit); the primary exits when the last has.
    if (running.size === 0) process.exit(exitCode);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    setTimeout(() => {
      rootLogger.warn({}, 'workers did not stop in time; ending them');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      process.exit(1);
    }, STOP_GRACE_MS + 2_000).unref();
  }
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  servePrimaryMetrics();
  rootLogger.info({ workers, port, rulesDirectory }, `starting ${workers} workers`);
  for (let i = 0; i < workers; i += 1) fork();
}

if (cluster.isWorker) serve(true);
else {
  // Keys and settings are read once, before any worker: a mistake in them stops the start with one message.
  settleKeys();
  settings();
  const workers = workerCount();
  if (workers === 1) serve(false);
  else void supervise(workers);
}
