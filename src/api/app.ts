// The HTTP API: routes, content negotiation and error mapping. createApp() never listens; tests drive it directly.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import path from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import typeis from 'type-is';
import type { Logger } from 'pino';
import { todayInSydney } from '../dates/calendar';
import { citation } from '../engine/explain';
import type { CompiledRuleSet } from '../engine/compile';
import type { Decision } from '../engine/evaluate';
import { DecisionError } from '../errors';
import { versionsByFile, type RuleRegistry, type RuleSetVersions } from '../loader/load';
import type { ReloadReport } from '../loader/store';
import { impactOf, type ImpactCase } from '../authoring/impact';
import type { DecisionRecorder } from '../decisions/recorder';
import { authorize, type Caller, type KeyRing, type Permission } from './access';
import { addDecisionRoutes, DecisionReplayer } from './decisions';
import { closeWhenAnswered, DEFAULT_BATCH_LIMITS, rateLimitPerKey, requestTimeout, type BatchLimits } from './limits';
import { metricsHandler, outcomeLabel, type Metrics } from './metrics';
import { openApiDocument } from './openapi';
import { requestLog } from './request-log';
import { evaluateBatch } from './batch';
import { decideRequest, engineOf } from './decide-request';
import { decisionJson } from './decision-json';
import { invalidJson, jsonBody } from './json-body';
import { internalProblem, problemOf, sendProblem } from './problem';

export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface AppLogger {
  error(details: object, message: string): void;
}

/** Cases one impact request may carry: enough for a policy officer's test set, small enough to answer in seconds. */
export const MAX_IMPACT_CASES = 10_000;

export interface AppOptions {
  /** The rule sets in force; read per request, so a reload that swaps the registry takes effect at once. */
  rules: () => RuleRegistry;
  /** Validates and swaps in the rules on disk (in a cluster, in every worker); absent when the app serves fixed rules. */
  reload?: () => ReloadReport | Promise<ReloadReport>;
  clock?: () => Date;
  logger?: AppLogger;
  /** The lines, inflated bytes and run time one evaluate-batch may take (limits.ts says why; batch.ts what happens past them). */
  batch?: Partial<BatchLimits>;
  /** Who may call what: every /v1 route asks it (access.ts). */
  access: KeyRing;
  /** Every decision is recorded here before it is answered. */
  recorder: DecisionRecorder;
  /** The rules on disk as they would load now, for impact analysis against the rules in force; throws if they are refused. */
  candidateRules?: () => RuleRegistry;
  /** Requests, latency, decisions and errors, for /metrics. */
  metrics?: Metrics;
  /** Whether /metrics asks the cluster primary for every worker's figures. */
  clustered?: boolean;
  /** Structured request logs (pino, request-log.ts); off when absent (tests). */
  requestLogger?: Logger;
  /** Requests one key may make a minute (0: no limit). */
  ratePerMinute?: number;
  /** In a cluster: the workers asked for and those serving, as the primary last said (server.ts); absent when not clustered. */
  workers?: () => { wanted: number; serving: number } | undefined;
  /** A request not answered within this is answered 503 (evaluate-batch streams, and is bounded by the server's requestTimeout instead). */
  requestTimeoutMs?: number;
}

// type-is itself, as Express's req.is() calls it: the lane's requests are Node's own, without Express's methods.
const isJson = (req: Request): boolean => Boolean(typeis(req, ['application/json', 'application/*+json']));

interface BodyParserError {
  type?: string;
  status?: number;
}

/** The evaluate route, as Express matches it and as the metrics and request logs name it. */
const EVALUATE_ROUTE = '/v1/rulesets/:name/evaluate';

/**
 * The requests the lane takes: an evaluate POST whose rule-set name needs no decoding and with no query string (so
 * `?engine=reference`, a percent-encoded or a trailing-slash path, and every other route go through Express).
 */
const LANE_PATH = /^\/v1\/rulesets\/([A-Za-z0-9._-]+)\/evaluate$/;

/** The rule-set name if the lane takes this request, else undefined (Express answers it). */
function laneName(method: string | undefined, url: string | undefined): string | undefined {
  return method === 'POST' && url !== undefined ? LANE_PATH.exec(url)?.[1] : undefined;
}

export const takesLane = (method: string | undefined, url: string | undefined): boolean => laneName(method, url) !== undefined;

// The lane: the evaluate route's handlers run in order without Express's router.
//
// Measured on this 2-core machine under autocannon (64 connections, the bench's body), a bare Express 5 route cost about
// 100 µs of CPU a request more than the same handler on Node's own server: about 60 µs of it from Express swapping the
// prototypes of every request and response (which leaves Node's own response methods slow on them), the rest its
// router. With the production edges (request log, metrics, helmet, the timeout, key check, limiter and decision log) the
// service answered about 4,800 evaluations a second; the issue's target is 5,000 with p99 under 25 ms.
//
// The lane runs the very same handler functions as the Express route, in the same order (the edges, then `evaluate`),
// on Node's own request and response with the few fields those handlers read (path, originalUrl, params, query, route,
// baseUrl, res.locals) set as Express would have set them. A handler on this route must therefore use Node's own
// request and response API and those fields only; every evaluate test runs through the lane, and every answer is
// checked against the OpenAPI document, so a handler that reaches for an Express method fails them.

/** The route as req.route gives it to the metrics and the request log. */
const LANE_ROUTE = { path: EVALUATE_ROUTE };

function laneRequest(req: IncomingMessage, name: string): Request {
  return Object.assign(req, { originalUrl: req.url, path: req.url, baseUrl: '', params: { name }, query: {}, route: LANE_ROUTE, body: undefined }) as unknown as Request;
}

function laneResponse(res: ServerResponse): Response {
  return Object.assign(res, { locals: Object.create(null) as Record<string, unknown> }) as unknown as Response;
}

/** next() as Express's router gives it: the next handler, or with an error, the error handler; a throw or a rejected promise is an error. */
function runLane(chain: readonly RequestHandler[], req: Request, res: Response, fail: (error: unknown, req: Request, res: Response) => void): void {
  let at = 0;
  const next = (error?: unknown): void => {
    if (error !== undefined) {
      fail(error, req, res);
      return;
    }
    const handler = chain[at];
    at += 1;
    if (handler === undefined) return;
    try {
      const result = handler(req, res, next) as unknown;
      if (result instanceof Promise) result.catch((reason: unknown) => next(reason ?? new Error('Rejected promise')));
    } catch (thrown) {
      next(thrown ?? new Error('undefined thrown'));
    }
  };
  next();
}

/** A rule-set version as GET /v1/rulesets/{name} shows it (without its list of versions). */
export function describeRuleSet(ruleSet: CompiledRuleSet) {
  const { file } = ruleSet;
  return {
    name: ruleSet.name,
    version: ruleSet.version,
    effectiveFrom: ruleSet.effectiveFrom,
    effectiveTo: ruleSet.effectiveTo,
    file: ruleSet.sourceFile,
    title: file.title,
    description: file.description,
    documents: file.documents,
    requires: file.requires,
    factDefaults: file.factDefaults ?? {},
    parameters: file.parameters,
    derivedFacts: file.derivedFacts,
    outcome: file.outcome,
    rules: file.rules.map((rule) => ({ ...rule, citation: citation(rule.sources) })),
  };
}

/**
 * The evaluate hot path: the decision's JSON (decision-json.ts) and one write. res.json would also hash the ~20 KB body
 * for an ETag (sha1, per request) that no client revalidates a POST answer with, and go through
 * res.send's type and freshness handling; the bytes and headers sent are otherwise the same.
 */
function sendDecision(res: Response, decision: Decision, decisionId: string): void {
  // A request the timeout has answered already (limits.ts) gets nothing more.
  if (res.headersSent) return;
  const body = decisionJson(decision, decisionId);
  res.setHeader('X-Decision-Id', decisionId);
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** One impact case as sent: checked here so a malformed case is a 400 naming it, not a refusal inside the report. */
function impactCases(body: unknown): ImpactCase[] {
  const cases = (body as { cases?: unknown } | null)?.cases;
  if (!Array.isArray(cases) || cases.length === 0 || cases.length > MAX_IMPACT_CASES) {
    throw new DecisionError('invalid-request', `Send { "cases": [ { "id", "ruleSet", "asOf", "facts" }, … ] } with 1 to ${MAX_IMPACT_CASES} cases.`, [{ pointer: '/cases', message: `must be an array of 1 to ${MAX_IMPACT_CASES} cases` }]);
  }
  const issues: { pointer: string; message: string }[] = [];
  cases.forEach((c: unknown, i) => {
    const at = (field: string, message: string) => issues.push({ pointer: `/cases/${i}/${field}`, message });
    if (c === null || typeof c !== 'object' || Array.isArray(c)) {
      issues.push({ pointer: `/cases/${i}`, message: 'must be an object' });
      return;
    }
    const { id, ruleSet, asOf, facts } = c as Record<string, unknown>;
    if (typeof id !== 'string' || id.length === 0) at('id', 'must be a non-empty string');
    if (typeof ruleSet !== 'string') at('ruleSet', 'must be a rule set name');
    if (typeof asOf !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(asOf)) at('asOf', 'must be a date, YYYY-MM-DD');
    if (facts === null || typeof facts !== 'object' || Array.isArray(facts)) at('facts', 'must be an object');
  });
  if (issues.length > 0) throw new DecisionError('invalid-request', 'Some impact cases are malformed.', issues);
  return cases as ImpactCase[];
}

const callerOf = (res: Response): Caller => res.locals.caller as Caller;

export function createApp(options: AppOptions): RequestListener {
  const { rules, reload, clock = () => new Date(), logger, access, recorder, metrics } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('json spaces', 0);
  app.set('etag', false);

  // Outermost: the request's id and its log line, and its count and latency, whatever happens later.
  // The same edges run before the evaluate route's lane (below).
  const edges: RequestHandler[] = [];
  if (options.requestLogger) edges.push(requestLog(options.requestLogger));
  if (metrics) edges.push(metrics.middleware());
  edges.push(
    helmet({
      // The API answers JSON only; the /rules page sets its own policy below, with the hashes of its inline script and style.
      // Not helmet's defaults (made for pages: scripts and styles from this origin): an answer here loads nothing at all.
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"], frameAncestors: ["'none'"] } },
    }) as RequestHandler,
  );
  if (options.requestTimeoutMs) {
    const timeout = requestTimeout(options.requestTimeoutMs);
    // A batch streams its answer for as long as the client sends; the server's requestTimeout bounds it instead.
    edges.push((req, res, next) => (req.path.endsWith('/evaluate-batch') ? next() : timeout(req, res, next)));
  }
  for (const edge of edges) app.use(edge);

  const limiter = rateLimitPerKey({ perMinute: options.ratePerMinute ?? 0 });
  /** Who may call a route: a key with the permission, within its rate. */
  const guard = (permission: Permission): [RequestHandler, RequestHandler] => [authorize(access, permission), limiter];

  const ruleSetNamed = (name: string, registry = rules()): RuleSetVersions => {
    const ruleSet = registry.ruleSets.get(name);
    if (!ruleSet) {
      const known = [...registry.ruleSets.keys()].join(', ');
      throw new DecisionError('unknown-rule-set', `There is no rule set "${name}". Known rule sets: ${known}.`);
    }
    return ruleSet;
  };

  // The page policy staff read: static HTML that renders the rule sets from the API, no build step.
  const rulesPage = readFileSync(path.join(__dirname, 'rules-page.html'), 'utf8');
  const rulesPagePolicy = pagePolicy(rulesPage);
  app.get('/rules', (_req, res) => {
    res.setHeader('Content-Security-Policy', rulesPagePolicy);
    res.type('html').send(rulesPage);
  });

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/ready', async (_req, res) => {
    try {
      // Ready means able to record a decision (the rules are loaded before the app exists): the last write's
      // result and a write probe (recorder.ts canRecord), not a read, which a full disk or a deleted file still answers.
      await recorder.canRecord();
    } catch (error) {
      throw new DecisionError('not-ready', `Not ready: the decision log cannot record a decision: ${(error as Error).message}`);
    }
    const workers = options.workers?.();
    res.json({ status: workers && workers.serving < workers.wanted ? 'degraded' : 'ready', decisionLog: recorder.log.kind, versions: versionsByFile(rules()), ...(workers ? { workers } : {}) });
  });

  if (metrics) app.get('/metrics', metricsHandler(metrics, options.clustered ?? false));

  const openApiJson = JSON.stringify(openApiDocument());
  app.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openApiJson);
  });

  app.get('/v1/rulesets', ...guard('read-rules'), (_req, res) => {
    const today = todayInSydney(clock());
    const list = [...rules().ruleSets.values()].map((rs) => {
      const inForce = rs.inForceOn(today) ?? rs.latest;
      return {
        name: rs.name,
        version: inForce.version,
        title: inForce.file.title,
        rules: inForce.file.rules.length,
        versions: rs.periods(),
        href: `/v1/rulesets/${rs.name}`,
      };
    });
    res.json({ ruleSets: list });
  });

  app.get('/v1/rulesets/:name', ...guard('read-rules'), (req, res) => {
    const versions = ruleSetNamed(req.params.name as string);
    const asOf = typeof req.query.asOf === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(req.query.asOf) ? req.query.asOf : todayInSydney(clock());
    res.json({
      ...describeRuleSet(versions.resolve(asOf)),
      versions: versions.periods(),
    });
  });

  const evaluate: RequestHandler[] = [
    ...guard('evaluate'),
    (req, res, next) => {
      // The registry is read once, here: a reload during this request does not change its rules.
      res.locals.ruleSet = ruleSetNamed(String(req.params.name));
      next();
    },
    jsonOnly,
    jsonBody(BODY_LIMIT_BYTES, { oneCase: true }),
    async (req, res) => {
      const versions = res.locals.ruleSet as RuleSetVersions;
      const made = decideRequest(versions, req.body, engineOf(req), () => todayInSydney(clock()));
      // The compiled engine answers synchronously; only the reference engine needs awaiting.
      const decided = made instanceof Promise ? await made : made;
      const record = recorder.entry(decided, callerOf(res).id);
      res.locals.decisionId = record.decisionId;
      // Recorded first, answered second: a decision the log does not hold is never given (503 instead).
      await recorder.commit([record], [decided.ruleSet]);
      metrics?.decision(decided.decision.ruleSet, outcomeLabel(decided.decision), decided.decision.evaluator);
      sendDecision(res, decided.decision, record.decisionId);
    },
  ];
  app.post(EVALUATE_ROUTE, ...evaluate);

  app.post('/v1/rulesets/:name/evaluate-batch', ...guard('evaluate'), evaluateBatch({ lineLimitBytes: BODY_LIMIT_BYTES, ...DEFAULT_BATCH_LIMITS, ...options.batch, ruleSetNamed, clock, logger, recorder, metrics }));

  if (reload) {
    app.post('/v1/admin/reload', ...guard('reload'), async (_req, res) => {
      const report = await reload();
      if (!report.ok) {
        throw new DecisionError('rules-refused', `The rule files were refused (${report.issues.length} problem(s)); still serving the last good rules.`, report.issues);
      }
      res.json({ reloaded: true, versions: report.versions, changed: report.changed });
    });
  }

  const candidateRules = options.candidateRules;
  if (candidateRules) {
    app.post('/v1/admin/impact', ...guard('impact'), jsonOnly, jsonBody(BODY_LIMIT_BYTES), async (req, res) => {
      const cases = impactCases(req.body);
      let candidate: RuleRegistry;
      try {
        candidate = candidateRules();
      } catch (error) {
        if (error instanceof DecisionError && error.code === 'rule-file-invalid') {
          throw new DecisionError('rules-refused', `The rule files on disk are refused (${error.issues.length} problem(s)), so there is nothing to compare; fix them first.`, error.issues);
        }
        throw error;
      }
      const current = rules();
      const report = await impactOf(current, candidate, cases);
      res.json({ current: versionsByFile(current), candidate: versionsByFile(candidate), report });
    });
  }

  const replayer = new DecisionReplayer(recorder.log, rules);
  addDecisionRoutes(app, replayer, guard('read-decisions'), jsonOnly, jsonBody(BODY_LIMIT_BYTES, { oneCase: true }));

  app.use((req, _res, next) => {
    next(new DecisionError('not-found', `Nothing is served at ${req.method} ${req.path}.`));
  });

  // Every failure, from Express's router or the lane, becomes a problem here.
  const answerError = (error: unknown, req: Request, res: Response): void => {
    const parserError = error as BodyParserError;
    let known: DecisionError | undefined;
    if (error instanceof DecisionError) known = error;
    // A path that is not valid percent-encoding (Express fails to decode a route parameter): nothing is served there.
    else if (error instanceof URIError) known = new DecisionError('not-found', `Nothing is served at ${req.method} ${req.path}: the path is not valid percent-encoding.`);
    else if (parserError?.type === 'entity.too.large') known = new DecisionError('payload-too-large', `The body exceeds the limit of ${BODY_LIMIT_BYTES} bytes (1 MiB).`);
    else if (parserError?.type === 'entity.parse.failed') known = invalidJson(error);
    else if (parserError?.type === 'charset.unsupported' || parserError?.type === 'encoding.unsupported') known = new DecisionError('unsupported-media-type', (error as Error).message);
    else if (parserError?.type === 'request.aborted' || parserError?.type === 'request.size.invalid') known = new DecisionError('invalid-json', (error as Error).message);
    // Any other fault body-parser finds in the body itself (a corrupt gzip stream, say) is the client's: a 400, not a 500.
    else if (parserError?.status === 400 && (error as { expose?: boolean }).expose === true) known = new DecisionError('invalid-json', `The body could not be read: ${(error as Error).message}`, [{ pointer: '', message: 'could not be read' }]);
    // A response the timeout (or anything else) has begun already cannot take a problem as well.
    if (res.headersSent) {
      if (!known) logger?.error({ err: error, path: req.path }, 'error after the response began');
      return;
    }
    // Refused before its body has arrived (a key or a type refused, say): the body will not be read, so the connection
    // closes after the answer rather than wait for the rest of it (limits.ts).
    if (!req.complete) closeWhenAnswered(req, res);
    if (known && known.code !== 'internal' && known.code !== 'rule-file-invalid') {
      metrics?.error(known.code);
      sendProblem(res, problemOf(known, req.originalUrl));
      return;
    }
    metrics?.error('internal');
    logger?.error({ err: error, path: req.path }, 'unhandled error');
    sendProblem(res, internalProblem(req.originalUrl));
  };

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => answerError(error, req, res));

  const lane = [...edges, ...evaluate];
  return (req, res) => {
    const name = laneName(req.method, req.url);
    if (name === undefined) app(req, res);
    else runLane(lane, laneRequest(req, name), laneResponse(res), answerError);
  };
}

const jsonOnly: RequestHandler = (req, _res, next) => {
  if (!isJson(req)) throw new DecisionError('unsupported-media-type', `Send the request as application/json (got ${req.headers['content-type'] ?? 'no content type'}).`);
  next();
};

/** The /rules page's Content-Security-Policy: only its own inline script and style, by hash, and the API on this origin. */
function pagePolicy(html: string): string {
  const hashes = (tag: string) =>
    [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => `'sha256-${createHash('sha256').update(m[1] as string).digest('base64')}'`).join(' ');
  return `default-src 'none'; script-src ${hashes('script')}; style-src ${hashes('style')}; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}
