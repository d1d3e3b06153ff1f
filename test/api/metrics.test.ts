// Metrics: route patterns (never URLs) as labels, the service's counters in the exposition, /metrics alone and through a cluster's primary.
import express, { type NextFunction, type Request, type Response } from 'express';
import { AggregatorRegistry } from 'prom-client';
import request from 'supertest';
import { DecisionError } from '../../src/errors';
import {
  clusterMetricsClient,
  metricsAnswerer,
  metricsHandler,
  Metrics,
  type IpcChannel,
  type MetricsRequest,
  type MetricsResponse,
} from '../../src/api/metrics';
import { problemOf, sendProblem } from '../../src/api/problem';

/** A small app as the service is built: metrics outermost, routes with parameters, a mounted router, an error handler. */
function appWith(metrics: Metrics) {
  const app = express();
  app.use(metrics.middleware());
  app.get('/v1/things/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.post('/v1/things/:id/check', (req, _res, next) => {
    next(new DecisionError('invalid-request', `Thing ${req.params.id} is malformed.`));
  });
  const nested = express.Router();
  nested.get('/:name/versions/:version', (_req, res) => {
    res.json({});
  });
  app.use('/v1/sets', nested);
  app.get('/metrics', metricsHandler(metrics, false));
  app.use((req: Request, _res: Response, next: NextFunction) => next(new DecisionError('not-found', `Nothing at ${req.path}`)));
  app.use((error: DecisionError, req: Request, res: Response, _next: NextFunction) => {
    sendProblem(res, problemOf(error, req.originalUrl));
  });
  return app;
}

/** The value of one series in a Prometheus text exposition, or undefined if it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** 'finish' can fire just after the client has its answer: wait until the middleware has counted. */
async function counted(metrics: Metrics, series: string, expected: number): Promise<string> {
  for (let i = 0; i < 100; i += 1) {
    const text = await metrics.registry.metrics();
    if (sample(text, series) === expected) return text;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return metrics.registry.metrics();
}

describe('Metrics.middleware', () => {
  test('counts and times requests by route pattern, never by the URL a caller typed', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const app = appWith(metrics);
    await request(app).get('/v1/things/secret-id-123').expect(200);
    await request(app).get('/v1/things/other-id-456').expect(200);
    await request(app).post('/v1/things/abc/check').expect(400);
    await request(app).get('/v1/sets/segment-allocation/versions/7').expect(200);
    await request(app).get('/no/such/place-789').expect(404);

    const text = await counted(metrics, 'http_requests_total{method="GET",route="unmatched",status="404"}', 1);
    expect(sample(text, 'http_requests_total{method="GET",route="/v1/things/:id",status="200"}')).toBe(2);
    // A route's handler failed: the problem it answered is still the route's.
    expect(sample(text, 'http_requests_total{method="POST",route="/v1/things/:id/check",status="400"}')).toBe(1);
    // A mounted router's route is reported with its mount path.
    expect(sample(text, 'http_requests_total{method="GET",route="/v1/sets/:name/versions/:version",status="200"}')).toBe(1);
    expect(sample(text, 'http_request_duration_seconds_count{method="GET",route="/v1/things/:id",status="200"}')).toBe(2);
    expect(sample(text, 'http_request_duration_seconds_bucket{le="2.5",method="GET",route="/v1/things/:id",status="200"}')).toBe(2);
    expect(sample(text, 'http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/v1/things/:id",status="200"}')).toBe(2);
    expect(text).toMatch(/http_request_duration_seconds_bucket\{le="0\.001",/);
    for (const typed of ['secret-id-123', 'other-id-456', 'segment-allocation', 'place-789', '/v1/things/abc']) expect(text).not.toContain(typed);
  });

  test('each Metrics has a registry of its own', async () => {
    const a = new Metrics({ processMetrics: false });
    const b = new Metrics({ processMetrics: false });
    a.decision('exit-readiness', 'true', 'compiled');
    expect(sample(await a.registry.metrics(), 'decisions_total{rule_set="exit-readiness",outcome="true",evaluator="compiled"}')).toBe(1);
    expect(await b.registry.metrics()).not.toContain('decisions_total{');
  });
});

describe('the service counters', () => {
  test('decisions, reloads, errors and decision-log writes show in the exposition', async () => {
    const metrics = new Metrics({ processMetrics: false });
    let text = await metrics.registry.metrics();
    // Fixed series start at zero, so a rate has a value before the first event.
    expect(sample(text, 'rule_reloads_total{result="refused"}')).toBe(0);
    expect(sample(text, 'errors_total{code="internal"}')).toBe(0);
    expect(sample(text, 'decision_log_writes_total{result="failed"}')).toBe(0);

    metrics.decision('segment-allocation', 'B', 'compiled');
    metrics.decision('segment-allocation', 'B', 'compiled');
    metrics.decision('segment-allocation', 'C', 'reference');
    // A batch's decider thread counts its decisions together.
    metrics.decision('segment-allocation', 'A', 'compiled', 256);
    metrics.reload(true);
    metrics.reload(false);
    metrics.reload(false);
    metrics.error('unauthorized');
    metrics.error('invalid-request');
    metrics.error('invalid-request');
    metrics.logWrite(true, 0.0004);
    metrics.logWrite(false, 0.3);
    text = await metrics.registry.metrics();

    expect(sample(text, 'decisions_total{rule_set="segment-allocation",outcome="B",evaluator="compiled"}')).toBe(2);
    expect(sample(text, 'decisions_total{rule_set="segment-allocation",outcome="C",evaluator="reference"}')).toBe(1);
    expect(sample(text, 'decisions_total{rule_set="segment-allocation",outcome="A",evaluator="compiled"}')).toBe(256);
    expect(sample(text, 'rule_reloads_total{result="ok"}')).toBe(1);
    expect(sample(text, 'rule_reloads_total{result="refused"}')).toBe(2);
    expect(sample(text, 'errors_total{code="unauthorized"}')).toBe(1);
    expect(sample(text, 'errors_total{code="invalid-request"}')).toBe(2);
    expect(sample(text, 'decision_log_writes_total{result="ok"}')).toBe(1);
    expect(sample(text, 'decision_log_writes_total{result="failed"}')).toBe(1);
    expect(sample(text, 'decision_log_write_seconds_count')).toBe(2);
    expect(sample(text, 'decision_log_write_seconds_bucket{le="0.0005"}')).toBe(1);
    expect(sample(text, 'decision_log_write_seconds_bucket{le="0.5"}')).toBe(2);
    expect(sample(text, 'decision_log_write_seconds_sum')).toBeCloseTo(0.3004, 6);
  });
});

describe('metricsHandler, not clustered', () => {
  test("answers this registry's metrics as Prometheus text, process metrics included", async () => {
    const metrics = new Metrics();
    metrics.decision('direct-referral', 'true', 'compiled');
    const answer = await request(appWith(metrics)).get('/metrics').expect(200);
    expect(answer.headers['content-type']).toBe(metrics.registry.contentType);
    expect(answer.text).toContain('# TYPE http_requests_total counter');
    expect(answer.text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(sample(answer.text, 'decisions_total{rule_set="direct-referral",outcome="true",evaluator="compiled"}')).toBe(1);
    expect(answer.text).toContain('process_cpu_user_seconds_total');
    expect(answer.text).toContain('nodejs_eventloop_lag_seconds');
  });

  test('a prefix for the process metrics leaves the service metrics as they are', async () => {
    const metrics = new Metrics({ processMetricsPrefix: 'ps_' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('ps_process_cpu_user_seconds_total');
    expect(text).not.toMatch(/^process_cpu_user_seconds_total/m);
    expect(text).toContain('# TYPE http_requests_total counter');
  });
});

/**
 * A worker's IPC channel and the primary at its other end, in one process: what the worker sends
 * reaches the primary's listener, and the primary's replies (and anything else it sends, such as
 * server.ts's reload messages) reach the worker's listeners.
 */
function fakeCluster(collect: () => Promise<string>, options: { failSend?: boolean; silent?: boolean } = {}) {
  const listeners: ((message: unknown) => void)[] = [];
  const toWorker = (message: unknown) => setImmediate(() => listeners.forEach((l) => l(message)));
  const answer = metricsAnswerer(collect);
  const sent: MetricsRequest[] = [];
  const channel: IpcChannel = {
    send: (message, callback) => {
      sent.push(message);
      if (options.failSend) {
        setImmediate(() => callback(new Error('channel closed')));
        return;
      }
      setImmediate(() => callback(null));
      if (!options.silent) setImmediate(() => answer(message, (response: MetricsResponse) => toWorker(response)));
    },
    on: (_event, listener) => {
      listeners.push(listener);
    },
  };
  return { channel, sent, toWorker };
}

describe('a cluster scrape: the worker asks, the primary answers', () => {
  /** Two workers' registries, summed as the primary's AggregatorRegistry.clusterMetrics() sums what each worker hands over. */
  const summed =
    (...workers: Metrics[]) =>
    async () =>
      AggregatorRegistry.aggregate(await Promise.all(workers.map((w) => w.registry.getMetricsAsJSON()))).metrics();

  test('GET /metrics on one worker reports the sum over every worker', async () => {
    const first = new Metrics({ processMetrics: false });
    const second = new Metrics({ processMetrics: false });
    first.decision('segment-allocation', 'B', 'compiled');
    second.decision('segment-allocation', 'B', 'compiled');
    second.decision('segment-allocation', 'B', 'compiled');
    first.logWrite(true, 0.0004);
    second.logWrite(true, 0.002);
    const { channel, sent } = fakeCluster(summed(first, second));
    const app = express();
    app.get('/metrics', metricsHandler(first, true, channel));

    const answer = await request(app).get('/metrics').expect(200);
    expect(sent).toEqual([{ kind: 'metrics-request', request: 1 }]);
    expect(answer.headers['content-type']).toBe(first.registry.contentType);
    expect(sample(answer.text, 'decisions_total{rule_set="segment-allocation",outcome="B",evaluator="compiled"}')).toBe(3);
    expect(sample(answer.text, 'decision_log_writes_total{result="ok"}')).toBe(2);
    expect(sample(answer.text, 'decision_log_write_seconds_bucket{le="0.0005"}')).toBe(1);
    expect(sample(answer.text, 'decision_log_write_seconds_bucket{le="0.0025"}')).toBe(2);
  });

  test('a primary that cannot gather the metrics is a 503 problem, not-ready', async () => {
    const { channel } = fakeCluster(() => Promise.reject(new Error('Operation timed out.')));
    const app = express();
    app.get('/metrics', metricsHandler(new Metrics({ processMetrics: false }), true, channel));
    const answer = await request(app).get('/metrics').expect(503);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(answer.body).toEqual(expect.objectContaining({ status: 503, code: 'not-ready', instance: '/metrics' }));
    expect(answer.body.detail).toContain('Operation timed out.');
  });

  test('a closed channel is a 503 at once', async () => {
    const { channel } = fakeCluster(() => Promise.resolve(''), { failSend: true });
    const app = express();
    app.get('/metrics', metricsHandler(new Metrics({ processMetrics: false }), true, channel));
    const answer = await request(app).get('/metrics').expect(503);
    expect(answer.body).toEqual(expect.objectContaining({ code: 'not-ready' }));
    expect(answer.body.detail).toContain('channel closed');
  });

  test('no answer in time rejects; a late answer, and messages that are not metrics answers, are ignored', async () => {
    const { channel, toWorker } = fakeCluster(() => Promise.resolve('never'), { silent: true });
    const ask = clusterMetricsClient(channel, 50);
    const asked = ask();
    // server.ts's messages share the channel and the request numbers.
    toWorker({ kind: 'reload-all-done', request: 1, workers: 2 });
    toWorker({ kind: 'reload', request: 1 });
    toWorker({ type: 'prom-client:getMetricsReq', requestId: 1 });
    await expect(asked).rejects.toThrow('the cluster primary did not answer within 50 ms');
    toWorker({ kind: 'metrics-response', request: 1, text: 'late' });
    await new Promise((resolve) => setImmediate(resolve));
  });

  test('concurrent scrapes each get their own answer, and share one gathering on the primary', async () => {
    let gathered = 0;
    const { channel, sent } = fakeCluster(async () => {
      gathered += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return `text ${gathered}\n`;
    });
    const ask = clusterMetricsClient(channel, 1_000);
    const answers = await Promise.all([ask(), ask(), ask()]);
    expect(sent.map((m) => m.request)).toEqual([1, 2, 3]);
    expect(answers).toEqual(['text 1\n', 'text 1\n', 'text 1\n']);
    expect(gathered).toBe(1);
    // The next scrape, once that gathering is done, gathers afresh.
    expect(await ask()).toBe('text 2\n');
  });

  test("the primary's answerer ignores anything but a metrics request", async () => {
    const replies: MetricsResponse[] = [];
    const collect = jest.fn(() => Promise.resolve('x'));
    const answer = metricsAnswerer(collect);
    for (const message of [
      { kind: 'reload-all', request: 1 },
      { kind: 'reloaded', request: 1, ok: true },
      { kind: 'metrics-request' },
      null,
      'metrics-request',
    ])
      answer(message, (r) => replies.push(r));
    answer({ kind: 'metrics-request', request: 9 }, (r) => replies.push(r));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(collect).toHaveBeenCalledTimes(1);
    expect(replies).toEqual([{ kind: 'metrics-response', request: 9, text: 'x' }]);
  });
});
