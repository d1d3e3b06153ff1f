// Prometheus metrics for GET /metrics: requests and their latency, decisions, reloads, errors and decision-log writes.
//
// Each worker of the cluster counts in its own registry, and a scrape reaches whichever worker the
// cluster hands the connection to. So that /metrics describes the service, not one process, a
// clustered worker asks the primary, which gathers every worker's registry through prom-client's
// AggregatorRegistry and answers with the sums (histogram buckets included).
import cluster from 'node:cluster';
import { performance } from 'node:perf_hooks';
import type { Request, RequestHandler, Response } from 'express';
import { AggregatorRegistry, Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DecisionError, ERROR_CATALOGUE, type ErrorCode } from '../errors';
import { problemOf, sendProblem } from './problem';
import type { Decision } from '../engine/evaluate';
import { RULE_SET_MODULES } from '../rulesets';

/** A request's latency: answers take 1–50 ms; the upper buckets catch a stall, a slow log write or a large batch. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5];
/** One commit to the decision log: SQLite well within a millisecond, PostgreSQL a network round trip or a few. */
const LOG_WRITE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** How long a clustered scrape waits for the primary's answer (prom-client's primary gives up on its workers at 5 s too). */
export const CLUSTER_SCRAPE_MS = 5_000;

/** The route label of a request no route matched: its URL is whatever the caller typed, so it never becomes a label. */
export const UNMATCHED = 'unmatched';

/**
 * The route pattern that matched (`/v1/rulesets/:name/evaluate`), never the URL: the URL carries
 * rule-set names and decision ids typed by callers, and one series per id would grow the registry
 * (and every scrape) without bound. Undefined when no route matched.
 */
export function routePattern(req: Request): string | undefined {
  // Express types req.route as any: a route's path is what app.get() and the like were given.
  const route = req.route as { path?: string | RegExp | readonly (string | RegExp)[] } | undefined;
  if (route === undefined || route.path === undefined) return undefined;
  const path = typeof route.path === 'string' ? route.path : String(route.path);
  return req.baseUrl ? req.baseUrl + path : path;
}

export interface MetricsOptions {
  /** Process metrics too (CPU, memory, event-loop lag, GC, handles), as prom-client collects them. Default true. */
  processMetrics?: boolean;
  /** A prefix for the process metrics' names; none by default, the names dashboards for Node expect. */
  processMetricsPrefix?: string;
}

type HttpLabels = { method: string; route: string; status: string };
type DecisionLabels = { rule_set: string; outcome: string; evaluator: string };

const OK = { result: 'ok' } as const;
const REFUSED = { result: 'refused' } as const;
const FAILED = { result: 'failed' } as const;

/** The service's metrics, in a registry of its own: not prom-client's global one, so tests can make several. */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<keyof HttpLabels>;
  private readonly requestSeconds: Histogram<keyof HttpLabels>;
  private readonly decisions: Counter<keyof DecisionLabels>;
  private readonly reloads: Counter<'result'>;
  private readonly errors: Counter<'code'>;
  private readonly logWrites: Counter<'result'>;
  private readonly logWriteSeconds: Histogram;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from a request arriving to its answer being sent, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.decisions = new Counter({
      name: 'decisions_total',
      help: 'Decisions given (each evaluate-batch line counts), by rule set, headline outcome and evaluator.',
      labelNames: ['rule_set', 'outcome', 'evaluator'],
      registers,
    });
    this.reloads = new Counter({
      name: 'rule_reloads_total',
      help: 'Rule reloads asked for: ok (swapped in) or refused (the last good rules stay in force).',
      labelNames: ['result'],
      registers,
    });
    this.errors = new Counter({ name: 'errors_total', help: 'Problems answered, by problem code (errors.ts).', labelNames: ['code'], registers });
    this.logWrites = new Counter({
      name: 'decision_log_writes_total',
      help: 'Decision-log commits: ok, or failed (the request was answered 503 and no decision given).',
      labelNames: ['result'],
      registers,
    });
    // Every commit, held or failed: what a decision waits on the log is the latency that matters here.
    this.logWriteSeconds = new Histogram({
      name: 'decision_log_write_seconds',
      help: 'Time one decision-log commit took, held or failed.',
      buckets: LOG_WRITE_BUCKETS,
      registers,
    });

    // Every fixed series from zero, so a rate or an alert on it has a value before the first event.
    for (const labels of [OK, REFUSED]) this.reloads.inc(labels, 0);
    for (const labels of [OK, FAILED]) this.logWrites.inc(labels, 0);
    for (const code of Object.keys(ERROR_CATALOGUE)) this.errors.inc({ code }, 0);

    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: options.processMetricsPrefix ?? '' });
  }

  /**
   * Counts each request and times it, recorded when the answer has been sent. Goes first, before
   * anything that may answer (authorization, the timeout, a parse error), so every answer counts. A
   * request its caller abandoned before the answer went out is not counted: no answer, no 'finish'.
   */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const start = performance.now();
      res.on('finish', () => this.request(req.method, routePattern(req) ?? UNMATCHED, res.statusCode, (performance.now() - start) / 1000));
      next();
    };
  }

  /**
   * One request answered; `route` is a pattern or UNMATCHED, never a URL.
   *
   * One label object, shared by the counter and the histogram. Not cached per series: a cache keyed
   * by a string built from the labels measured slower (1.1 µs a request) than this short-lived object
   * (0.87 µs), as did histogram.startTimer(), which builds two; what remains is prom-client's own
   * hashing of the labels on each call.
   */
  request(method: string, route: string, status: number, seconds: number): void {
    const labels: HttpLabels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.requestSeconds.observe(labels, seconds);
  }

  /** `count` decisions given (one, unless a batch counts them together); `outcome` is the headline value (outcomeLabel below), a small fixed set per rule set. */
  decision(ruleSet: string, outcome: string, evaluator: string, count = 1): void {
    this.decisions.inc({ rule_set: ruleSet, outcome, evaluator } satisfies DecisionLabels, count);
  }

  reload(ok: boolean): void {
    this.reloads.inc(ok ? OK : REFUSED);
  }

  error(code: ErrorCode): void {
    this.errors.inc({ code });
  }

  logWrite(ok: boolean, seconds: number): void {
    this.logWrites.inc(ok ? OK : FAILED);
    this.logWriteSeconds.observe(seconds);
  }
}

// --- The cluster: a worker asks, the primary gathers every worker's registry and answers. ---

/** Worker → primary. Kinds distinct from server.ts's reload messages, which share the channel. */
export interface MetricsRequest {
  kind: 'metrics-request';
  request: number;
}

/** Primary → worker: the cluster's metrics as Prometheus text, or why they could not be gathered. */
export type MetricsResponse = { kind: 'metrics-response'; request: number; text: string } | { kind: 'metrics-response'; request: number; error: string };

/** A worker's end of the IPC channel to the primary, as `process` offers it; tests pass a fake. */
export interface IpcChannel {
  send(message: MetricsRequest, callback: (error: Error | null) => void): void;
  on(event: 'message', listener: (message: unknown) => void): void;
}

const isObject = (message: unknown): message is Record<string, unknown> => typeof message === 'object' && message !== null;

export const isMetricsRequest = (message: unknown): message is MetricsRequest =>
  isObject(message) && message.kind === 'metrics-request' && typeof message.request === 'number';

export const isMetricsResponse = (message: unknown): message is MetricsResponse =>
  isObject(message) &&
  message.kind === 'metrics-response' &&
  typeof message.request === 'number' &&
  (typeof message.text === 'string' || typeof message.error === 'string');

/**
 * The worker's half: a function that asks the primary for the cluster's metrics and resolves with
 * its text, or rejects if it reports a failure, the channel is closed, or no answer comes within
 * timeoutMs. Messages that are not metrics responses (reloads), and answers that come too late, are ignored.
 */
export function clusterMetricsClient(channel: IpcChannel, timeoutMs = CLUSTER_SCRAPE_MS): () => Promise<string> {
  let nextRequest = 1;
  const waiting = new Map<number, { settle: (error: Error | undefined, text?: string) => void }>();
  channel.on('message', (message) => {
    if (!isMetricsResponse(message)) return;
    const entry = waiting.get(message.request);
    if (!entry) return;
    if ('text' in message) entry.settle(undefined, message.text);
    else entry.settle(new Error(message.error));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const request = nextRequest++;
      const settle = (error: Error | undefined, text?: string) => {
        if (!waiting.delete(request)) return;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(text ?? '');
      };
      const timer = setTimeout(() => settle(new Error(`the cluster primary did not answer within ${timeoutMs} ms`)), timeoutMs);
      waiting.set(request, { settle });
      channel.send({ kind: 'metrics-request', request }, (error) => {
        if (error) settle(error);
      });
    });
}

/**
 * The primary's half: answers a worker's metrics request with collect()'s text (or its failure).
 * Requests that arrive while a collection is under way share it: every worker would be asked for the
 * same figures again, and Prometheus servers scraping through different workers tend to arrive together.
 * Anything but a metrics request is left alone (server.ts handles the reload messages).
 */
export function metricsAnswerer(collect: () => Promise<string>): (message: unknown, reply: (response: MetricsResponse) => void) => void {
  let underWay: Promise<string> | undefined;
  return (message, reply) => {
    if (!isMetricsRequest(message)) return;
    const { request } = message;
    if (underWay === undefined) {
      underWay = Promise.resolve()
        .then(collect)
        .finally(() => {
          underWay = undefined;
        });
    }
    underWay.then(
      (text) => reply({ kind: 'metrics-response', request, text }),
      (error: unknown) => reply({ kind: 'metrics-response', request, error: error instanceof Error ? error.message : String(error) }),
    );
  };
}

let primaryServing = false;

/**
 * Called once by the cluster primary: answers the workers' metrics requests with every worker's
 * registry summed, and the primary's own `primary` registry after them (AggregatorRegistry.clusterMetrics asks each worker over IPC, and fails if one has
 * not answered within 5 s). Calling it again does nothing.
 */
export function servePrimaryMetrics(primary?: Registry): void {
  if (primaryServing) return;
  primaryServing = true;
  const aggregator = new AggregatorRegistry();
  // The primary's own series (the cluster's workers and restarts) follow the workers' sums: they are not summed.
  const answer = metricsAnswerer(async () => `${await aggregator.clusterMetrics()}${primary ? `\n${await primary.metrics()}` : ''}`);
  cluster.on('message', (worker, message: unknown) => {
    answer(message, (response) => {
      // A worker that died while the primary gathered has nobody left to answer; the callback keeps a
      // closed channel's error from being thrown in the primary.
      if (worker.isConnected()) worker.send(response, () => undefined);
    });
  });
}

// prom-client answers the primary's requests in a worker from a listener it installs when the first
// AggregatorRegistry is made there. Make one as soon as a worker loads this module, not when its app is
// built: a worker still starting (loading rules, opening the decision log) then answers with what it
// has, nothing yet, instead of holding the whole cluster's scrape until the primary's 5 s timeout.
if (cluster.isWorker) void new AggregatorRegistry();

function processChannel(): IpcChannel {
  if (!process.send) throw new Error('clustered /metrics needs the IPC channel to the cluster primary, and this process has none');
  return {
    send: (message, callback) => {
      process.send!(message, callback);
    },
    on: (event, listener) => {
      process.on(event, listener);
    },
  };
}

/**
 * GET /metrics. Not clustered: this process's registry. Clustered: the sum over every worker, asked of
 * the primary over `channel` (this worker's IPC channel unless a test passes one); a 503 problem if
 * it has not answered within 5 s.
 */
export function metricsHandler(metrics: Metrics, clustered: boolean, channel?: IpcChannel): RequestHandler {
  const { registry } = metrics;
  const send = (res: Response, text: string) => {
    if (res.headersSent) return;
    res.setHeader('Content-Type', registry.contentType);
    res.end(text);
  };
  if (!clustered) {
    return (_req, res, next) => {
      registry.metrics().then((text) => send(res, text), next);
    };
  }
  // The primary aggregates what each worker's prom-client hands over: by default the global registry,
  // which this service does not use. Hand over this Metrics' registry instead.
  if (cluster.isWorker) AggregatorRegistry.setRegistries([registry]);
  const ask = clusterMetricsClient(channel ?? processChannel());
  return (req, res) => {
    ask().then(
      (text) => send(res, text),
      (error: Error) => {
        if (res.headersSent) return;
        sendProblem(res, problemOf(new DecisionError('not-ready', `The cluster's metrics could not be gathered: ${error.message}`), req.originalUrl));
      },
    );
  };
}

/** The outcome's headline value for metrics: its module's verdict field, a small fixed set per rule set (a segment, a route, ready or not). */
export function outcomeLabel(decision: Pick<Decision, 'ruleSet' | 'outcome'>): string {
  const field = RULE_SET_MODULES[decision.ruleSet]?.verdict;
  const value = field === undefined ? undefined : decision.outcome[field];
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : 'decided';
}
