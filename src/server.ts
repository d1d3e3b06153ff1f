// Runs the service: loads rules/, opens the decision log, serves the API on $HOST:$PORT (config.ts) from $WORKERS processes (node:cluster), logs as JSON, stops gracefully.
import cluster, { type Worker } from 'node:cluster';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pino from 'pino';
import type { GeneratedKey } from './api/access';
import { limitedServer } from './api/limits';
import { keyRing, SettingsError, settingsFromEnvironment, settingsFromPrimary, type Settings } from './config';
import { Metrics, servePrimaryMetrics } from './api/metrics';
import { openDecisionLog } from './decisions/open';
import type { DecisionLog } from './decisions/log';
import { DecisionRecorder } from './decisions/recorder';
import type { ProposalOptions } from './api/proposals';
import { DecisionError, issueLines } from './errors';
import { Counter, Gauge, Registry } from 'prom-client';
import { loadRules, loadRuleTexts, versionsByFile, type RuleRegistry, type RuleTexts } from './loader/load';
import { RuleStore, type ReloadReport } from './loader/store';
import { RULE_SET_MODULES } from './rulesets';

// Written asynchronously: lines logged while a write is under way go out together in the next one, rather than a
// blocking write per line at thousands of requests a second. pino flushes what is left when the process exits.
const rootLogger = pino({ name: 'ps-decision-service' }, pino.destination({ sync: false }));

// How long a graceful stop may take before the process gives up on requests in flight.
const STOP_GRACE_MS = 10_000;
// How long a reload waits for the other workers to confirm theirs before answering anyway.
const RELOAD_BROADCAST_MS = 5_000;
// Restarting a worker that died. One that lived at least MIN_UPTIME_MS is restarted at once; each that dies sooner
// (it could not start, or crashed straight away) doubles the wait before the next start, from FIRST_BACKOFF_MS up to
// MAX_BACKOFF_MS, so a fault a restart cannot fix costs a start every 30 s, not a busy loop. The healthy workers serve
// throughout. Only when no worker serves and GIVE_UP_AFTER starts in a row have failed does the primary stop (exit 1),
// so an orchestrator sees an outage it may be able to fix by starting the service afresh.
const MIN_UPTIME_MS = 30_000;
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
const GIVE_UP_AFTER = 8;
// How long a new worker waits for the primary to hand it its settings and the rules in force. At the start the primary
// is still checking the rules and opening the decision log (a PostgreSQL connection may take a while): a worker that
// gave up would only be started again.
const HANDOFF_MS = 30_000;

/** Messages between the primary and its workers, over the cluster's IPC channel. */
type ToPrimary =
  { kind: 'reload-all'; request: number } | { kind: 'reloaded'; request: number; ok: boolean } | { kind: 'rules-in-force'; request: 0; texts: RuleTexts };
type ToWorker =
  | { kind: 'reload'; request: number }
  | { kind: 'reload-all-done'; request: number; workers: number }
  | { kind: 'start'; request: 0; settings: Settings; texts: RuleTexts }
  | { kind: 'workers'; request: 0; wanted: number; serving: number };

const isMessage = (message: unknown): message is { kind: string; request: number } =>
  typeof message === 'object' &&
  message !== null &&
  typeof (message as { kind?: unknown }).kind === 'string' &&
  typeof (message as { request?: unknown }).request === 'number';

function fatal(details: object, message: string): never {
  rootLogger.fatal(details, message);
  process.exit(1);
}

function rulesRefused(rulesDirectory: string, error: unknown): never {
  const issues = error instanceof DecisionError ? error.issues : [];
  const where = issueLines(issues);
  fatal({ rulesDirectory, issues, err: error }, `rules could not be loaded; not starting\n${where}`);
}

/**
 * The settings, read from the environment once, by the process that starts; or no start at all,
 * with every bad value named, each on its own line (on stderr for the person starting it, and in the
 * log for the operator's tools), and no stack trace: the mistake is in the settings, not the code.
 */
function readSettings(): { settings: Settings; generated?: readonly GeneratedKey[] } {
  try {
    return settingsFromEnvironment(process.env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    process.stderr.write(`\nThe service's settings are wrong; not starting:\n${error.problems.map((p) => `  ${p}`).join('\n')}\n\n`);
    rootLogger.fatal(
      { problems: error.problems },
      `${error.problems.length === 1 ? 'a setting is' : `${error.problems.length} settings are`} wrong; not starting`,
    );
    process.exit(1);
  }
}

/** Development keys are new at every start and printed only here, so that a local run works out of the box. */
function printDevelopmentKeys(generated: readonly GeneratedKey[], settings: Settings): void {
  const lines = generated.map((k) => `  ${k.role.padEnd(10)} Authorization: Bearer ${k.secret}`).join('\n');
  rootLogger.warn(
    { keys: generated.map((k) => ({ id: k.id, role: k.role })), host: settings.host },
    'no API_KEYS or API_KEYS_FILE: generated development keys for this run only',
  );
  const where = settings.host === undefined ? 'every interface' : settings.host;
  process.stderr.write(`\nDevelopment API keys (generated for this run; set API_KEYS or API_KEYS_FILE in production), served on ${where}:\n${lines}\n\n`);
}

/**
 * The decision log, or no start at all: a decision must never be given unrecorded. `mustExist`: a cluster's worker
 * opens the SQLite file its primary created at start, and never creates one: a worker restarted after the file was
 * deleted under the service must not begin a new, empty log beside the workers still holding the old one.
 */
async function openLog(settings: Settings, logger: pino.Logger, mustExist = false): Promise<DecisionLog> {
  const { dataDir } = settings;
  try {
    return await openDecisionLog({
      url: settings.decisionLogUrl,
      dataDir,
      mustExist,
      onIdleError: (error) => logger.warn({ err: error }, 'decision log: an idle PostgreSQL connection failed; the pool replaces it'),
    });
  } catch (error) {
    fatal({ err: error, dataDir }, 'the decision log could not be opened; not starting (a decision must never be given unrecorded)');
  }
}

/**
 * A cluster worker's first message: the settings the primary read and the rules the cluster serves (the primary
 * sends them as it forks the worker). A worker never reads the environment itself: a worker restarted later serves
 * with the settings (and the keys, even generated ones) every other worker has.
 */
async function handoffFromPrimary(): Promise<{ settings: Settings; texts: RuleTexts }> {
  const { settings, texts } = await new Promise<Extract<ToWorker, { kind: 'start' }>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the cluster primary did not hand over the settings and rules within ${HANDOFF_MS} ms`)), HANDOFF_MS);
    const take = (message: unknown) => {
      if (!isMessage(message) || (message as ToWorker).kind !== 'start') return;
      process.off('message', take);
      clearTimeout(timer);
      resolve(message as Extract<ToWorker, { kind: 'start' }>);
    };
    process.on('message', take);
  });
  // Settings that are not settings reject the handoff with settingsFromPrimary's reason.
  return { settings: settingsFromPrimary(settings), texts };
}

/** A cluster worker: waits for the primary's handoff, then serves. */
async function work(): Promise<void> {
  let handoff;
  try {
    handoff = await handoffFromPrimary();
  } catch (error) {
    fatal({ err: error }, 'this worker could not start; the primary starts another');
  }
  let rules: RuleRegistry;
  try {
    // A cluster's worker serves the rules the cluster serves, handed over by the primary, not the folder as it is
    // now: a worker started after a rule file was refused must not fail on it (or serve anything else).
    rules = loadRuleTexts(handoff.texts.calendarText, handoff.texts.files, { modules: RULE_SET_MODULES });
  } catch (error) {
    rulesRefused(handoff.settings.rulesDirectory, error);
  }
  await serve(handoff.settings, true, rules);
}

/** The fixtures beside the rules folder (../fixtures, as ps-rules finds them), when there are any: what drafts are measured on. */
function fixturesBeside(rulesDirectory: string): { fixturesDirectory?: string } {
  const fixtures = path.join(path.dirname(rulesDirectory), 'fixtures');
  return existsSync(fixtures) ? { fixturesDirectory: fixtures } : {};
}

/**
 * Proposals (issue 19). With SQLite: kept in the decision log's file on a connection of their own and published into
 * the rules folder. With PostgreSQL (the shared deployment): kept in the decision log's database, published there, and
 * loaded by every process: the rule store overlays the published versions on the folder, and a feed (LISTEN/NOTIFY,
 * polling every second as a fallback) reloads it when another process publishes one. Either way measured on the fixtures
 * beside the rules folder (../fixtures, as ps-rules finds them) when there are any.
 */
async function proposalStore(
  log: DecisionLog,
  settings: Settings,
  rules: RuleStore,
  logger: pino.Logger,
): Promise<{ options: ProposalOptions; close: () => Promise<void> } | undefined> {
  const { rulesDirectory } = settings;
  const common = { directory: rulesDirectory, modules: RULE_SET_MODULES, ...fixturesBeside(rulesDirectory) };
  try {
    if (log.kind === 'sqlite') {
      const { SqliteProposalStore } = await import('./authoring/proposal-store');
      const store = new SqliteProposalStore(log.location);
      return { options: { store, ...common }, close: () => Promise.resolve(store.close()) };
    }
    const url = settings.decisionLogUrl as string;
    const { PostgresProposalStore, PublishedVersionsFeed } = await import('./authoring/postgres-proposal-store');
    const store = await PostgresProposalStore.open(url, {
      onIdleError: (error) => logger.warn({ err: error }, 'proposal store: an idle PostgreSQL connection failed; the pool replaces it'),
    });
    // Validated and swapped as any reload (RuleStore.reload): a version this process cannot load is refused and logged,
    // and the last good rules kept. Its effectiveFrom decides when it is in force, so processes that learn of it at
    // different moments before that day all switch at the same Sydney midnight.
    const feed = new PublishedVersionsFeed(
      url,
      store,
      (_all, added) => {
        logger.info(
          { versions: added.map((p) => ({ ruleSet: p.ruleSet, version: p.version, effectiveFrom: p.effectiveFrom })) },
          'published rule versions arrived',
        );
        rules.reload();
      },
      logger,
    );
    rules.published = () => feed.all();
    await feed.start();
    return {
      options: { store, ...common, refreshPublished: () => feed.refresh() },
      close: async () => {
        await feed.stop();
        await store.close();
      },
    };
  } catch (error) {
    // Decisions go on without proposals: the routes answer 501, and the log says why.
    logger.error({ err: error, decisionLog: log.location }, 'proposals could not be opened in the decision log; the proposal routes answer 501');
    return undefined;
  }
}

/** One serving process: its own RuleStore and file watch, decision log connection, and the HTTP server. */
async function serve(settings: Settings, clustered: boolean, rules?: RuleRegistry): Promise<void> {
  const { rulesDirectory } = settings;
  const logger = clustered ? rootLogger.child({ worker: cluster.worker?.id }) : rootLogger;
  let store: RuleStore;
  try {
    store = new RuleStore(rulesDirectory, RULE_SET_MODULES, logger, rules);
  } catch (error) {
    rulesRefused(rulesDirectory, error);
  }
  let workers: { wanted: number; serving: number } | undefined;

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
      } else if (m.kind === 'workers') {
        workers = { wanted: m.wanted, serving: m.serving };
      }
    });
  }

  // Loaded here, not at the top: a cluster's primary serves no requests, and does not wait on Express and the routes.
  const { createApp } = await import('./api/app');
  const config = settings.limits;
  const ring = keyRing(settings);
  const log = await openLog(settings, logger, clustered);
  const metrics = new Metrics();
  store.onReload = (report) => {
    metrics.reload(report.ok);
    // The primary keeps the rules in force, to hand to a worker it starts later.
    if (clustered && report.ok && report.changed.length > 0) {
      const texts = store.current().texts;
      if (texts) process.send?.({ kind: 'rules-in-force', request: 0, texts } satisfies ToPrimary);
    }
  };
  const recorder = new DecisionRecorder(log, {
    keepFacts: settings.keepFacts,
    onWrite: (ok, seconds) => metrics.logWrite(ok, seconds),
    onError: (error) => logger.error({ err: error, decisionLog: log.location }, 'decision log write failed; the request is answered 503'),
  });

  const proposals = await proposalStore(log, settings, store, logger);

  // Edited rule files are picked up as they are saved; POST /v1/admin/reload does the same on demand.
  store.watch();
  const app = createApp({
    rules: () => store.current(),
    reload: reloadEverywhere,
    candidateRules: () => store.load(),
    logger,
    access: ring,
    recorder,
    metrics,
    clustered,
    requestLogger: logger,
    // Each worker allows its share, so a key never exceeds the limit across the cluster; the headers state the limit (limits.ts).
    ratePerMinute: config.ratePerMinute,
    rateLimitWorkers: clustered ? settings.workers : 1,
    requestTimeoutMs: config.requestTimeoutMs,
    batch: config.batch,
    workers: clustered ? () => workers : undefined,
    proposals: proposals?.options,
    // Drafts are measured whatever the decision log.
    drafts: { modules: RULE_SET_MODULES, ...fixturesBeside(rulesDirectory) },
  });
  // Header, request and idle timeouts and a connection cap (limits.ts), before Express sees a request.
  const { host, port } = settings;
  const server = limitedServer(app, config.server).listen({ host, port }, () => {
    const versions = versionsByFile(store.current());
    // The address and port bound, not the ones asked for: PORT=0 picks a free port (shared by every worker in a
    // cluster), and a host name binds to the address it resolves to.
    const bound = server.address() as AddressInfo;
    const everywhere = bound.address === '::' || bound.address === '0.0.0.0';
    const url = `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
    logger.info(
      { host: bound.address, port: bound.port, rulesDirectory, versions, decisionLog: log.kind, decisionLogAt: log.location, keys: ring.ids() },
      `listening on ${url}${everywhere ? ' (every interface)' : ''}`,
    );
  });
  server.on('error', (error) => fatal({ host, port, err: error }, `cannot serve on ${host ?? 'every interface'}, port ${port}; stopping`));

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing requests in flight');
    store.close();
    const closing = proposals?.close().catch(() => undefined);
    // In-flight requests finish (each commits its decision first), then the log closes, then the process ends.
    server.close(() => {
      void Promise.resolve(closing)
        .then(() => log.close())
        .finally(() => process.exit(0));
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(1), STOP_GRACE_MS).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** The primary's own metrics, added to the workers' sums: how many workers serve, and their restarts. */
function clusterHealth(wanted: number) {
  const registry = new Registry();
  const workers = new Gauge({
    name: 'cluster_workers',
    help: 'Cluster workers: wanted (WORKERS) and serving (listening now). Fewer serving than wanted is a degraded service.',
    labelNames: ['state'],
    registers: [registry],
  });
  const restarts = new Counter({
    name: 'cluster_worker_restarts_total',
    help: 'Workers the primary started again after one died or failed to start.',
    registers: [registry],
  });
  const backoff = new Gauge({
    name: 'cluster_worker_restart_wait_seconds',
    help: 'How long the latest restart waited: 0 after a worker that had served a while, doubling with each failed start.',
    registers: [registry],
  });
  workers.set({ state: 'wanted' }, wanted);
  workers.set({ state: 'serving' }, 0);
  return {
    registry,
    serving: (count: number) => workers.set({ state: 'serving' }, count),
    restart: (waitMs: number) => {
      restarts.inc();
      backoff.set(waitMs / 1000);
    },
  };
}

/** The cluster primary: checks the rules once, forks the workers, restarts the ones that die, relays reloads and stops. */
async function supervise(settings: Settings): Promise<void> {
  const { workers, rulesDirectory } = settings;
  // The rules in force, kept here to hand to each worker as it starts (a worker tells the primary when its rules
  // change); undefined until the primary has checked them, and workers forked before then wait for them.
  let inForce: RuleTexts | undefined;
  const waitingForRules = new Set<Worker>();
  const handOver = (worker: Worker, texts: RuleTexts) => {
    // Queued on the channel until the worker reads it; the callback keeps a worker that died at once from throwing here.
    worker.send({ kind: 'start', request: 0, settings, texts } satisfies ToWorker, () => undefined);
  };

  let stopping = false;
  let exitCode = 0;
  // Workers that died before MIN_UPTIME_MS, in a row: what the next restart waits on.
  let failedStarts = 0;
  const forkedAt = new Map<number, number>();
  // Workers whose server is listening: the ones serving.
  const serving = new Set<number>();
  const health = clusterHealth(workers);
  // A relayed reload: who asked (and their request number), and the workers yet to confirm.
  let nextBroadcast = 1;
  // Forked and not yet exited (cluster.workers can still list a worker in its exit event).
  const running = new Set<number>();
  const broadcasts = new Map<number, { asker: Worker; request: number; workers: number; pending: Set<number> }>();

  const live = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());

  const fork = (): Worker => {
    const worker = cluster.fork();
    running.add(worker.id);
    forkedAt.set(worker.id, Date.now());
    if (inForce) handOver(worker, inForce);
    else waitingForRules.add(worker);
    worker.on('message', (message: unknown) => {
      if (!isMessage(message)) return;
      const m = message as ToPrimary;
      if (m.kind === 'reload-all') relayReload(worker, m.request);
      else if (m.kind === 'reloaded') confirm(m.request, worker.id, m.ok);
      else if (m.kind === 'rules-in-force') inForce = m.texts;
    });
    return worker;
  };

  /** Tells every worker, and the metrics, how many serve of how many asked for (a worker's /ready says "degraded"). */
  const announce = () => {
    health.serving(serving.size);
    for (const w of live()) w.send({ kind: 'workers', request: 0, wanted: workers, serving: serving.size } satisfies ToWorker, () => undefined);
  };
  cluster.on('listening', (worker) => {
    serving.add(worker.id);
    announce();
  });

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
    const wasServing = serving.delete(worker.id);
    const lived = Date.now() - (forkedAt.get(worker.id) ?? 0);
    forkedAt.delete(worker.id);
    failedStarts = lived < MIN_UPTIME_MS ? failedStarts + 1 : 0;
    announce();
    const details = { worker: worker.id, workerPid: worker.process.pid, code, signal, livedMs: lived, serving: serving.size, wanted: workers };
    if (serving.size === 0 && failedStarts >= GIVE_UP_AFTER) {
      rootLogger.fatal(
        { ...details, failedStarts },
        `no worker serves, and ${failedStarts} starts in a row have failed; stopping so that the service can be started afresh`,
      );
      stop('restart-limit', 1);
      return;
    }
    const waitMs = failedStarts === 0 ? 0 : Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (failedStarts - 1));
    health.restart(waitMs);
    rootLogger.error(
      { ...details, failedStarts, waitMs },
      `worker ${wasServing ? 'died' : 'failed to start'}; starting another${waitMs > 0 ? ` in ${waitMs} ms` : ''} (${serving.size} of ${workers} serving)`,
    );
    // Not unref'd: with no worker left, this timer is what keeps the primary alive to start the next.
    setTimeout(() => {
      if (!stopping) fork();
    }, waitMs);
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

  servePrimaryMetrics(health.registry);
  rootLogger.info({ workers, host: settings.host, port: settings.port, rulesDirectory }, `starting ${workers} workers`);
  // Forked first, so that they load their code while this process checks the rules: on two cores that overlap is about
  // a second of the time to ready. They serve nothing until they are handed the rules.
  for (let i = 0; i < workers; i += 1) fork();
  // Refuse to start on bad rules, or a decision log that cannot be opened, here, once, rather than watch every worker
  // fail on them (and be restarted into the same failure). The workers still waiting for the rules end with this process.
  const endWaiting = () => {
    for (const worker of waitingForRules) worker.process.kill('SIGTERM');
  };
  process.once('exit', endWaiting);
  try {
    inForce = loadRules(rulesDirectory, { modules: RULE_SET_MODULES }).texts;
  } catch (error) {
    rulesRefused(rulesDirectory, error);
  }
  // Creates the SQLite file if it is new: the workers open only the file that is there (openLog's mustExist).
  await (await openLog(settings, rootLogger)).close();
  process.off('exit', endWaiting);
  for (const worker of waitingForRules) if (worker.isConnected()) handOver(worker, inForce);
  waitingForRules.clear();
}

if (cluster.isWorker) void work();
else {
  // Settings (keys among them) are read once, before any worker: every mistake in them stops the start, each named.
  const { settings, generated } = readSettings();
  if (generated) printDevelopmentKeys(generated, settings);
  if (settings.workers === 1) void serve(settings, false);
  else void supervise(settings);
}
