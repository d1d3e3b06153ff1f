// The HTTP API: routes, content negotiation and error mapping. createApp() never listens; tests drive it directly.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import path from 'node:path';
import compression from 'compression';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { todayInSydney } from '../dates/calendar';
import { citation } from '../engine/explain';
import { interpretationsOf, isConfirmed } from '../engine/interpretations';
import type { CompiledRuleSet } from '../engine/compile';
import { DecisionError } from '../errors';
import { versionsByFile, type RuleRegistry, type RuleSetVersions } from '../loader/load';
import type { ReloadReport } from '../loader/store';
import { impactOf, type ImpactCase } from '../authoring/impact';
import { isAsOf, NOT_A_DATE } from '../facts/validate';
import type { Decided, DecisionRecorder } from '../decisions/recorder';
import { authorize, type Caller, type KeyRing, type Permission } from './access';
import { addDecisionRoutes, DecisionReplayer } from './decisions';
import { addDraftImpactRoute, type DraftOptions } from './draft-impact';
import { addProposalRoutes, type ProposalOptions } from './proposals';
import { closeWhenAnswered, DEFAULT_BATCH_LIMITS, rateLimitPerKey, requestTimeout, type BatchLimits } from './limits';
import { metricsHandler, outcomeLabel, type Metrics } from './metrics';
import { openApiDocument } from './openapi';
import { requestLog } from './request-log';
import { evaluateBatch, type BatchOptions } from './batch';
import { decideRequest, engineOf, explainOf, type Explain } from './decide-request';
import { answerJson } from './decision-json';
import { invalidJson, jsonBody } from './json-body';
import { JSON_MEDIA_TYPE, unsupportedCharset, unsupportedMediaType } from './media-type';
import { internalProblem, problemOf, sendProblem } from './problem';

export const BODY_LIMIT_BYTES = 1024 * 1024;
/** A draft with the backlog it is measured on (draft-impact.ts): some 20,000 referrals. */
export const DRAFT_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

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
  /**
   * The lines, inflated bytes and run time one evaluate-batch may take (limits.ts says why; batch.ts what happens past
   * them), and the threads that decide its lines (batch-deciders.ts; by default the process's own).
   */
  batch?: Partial<BatchLimits> & Pick<BatchOptions, 'deciders'>;
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
  /** In a cluster: how many workers count a key's requests apart, each allowing its share of ratePerMinute (limits.ts). */
  rateLimitWorkers?: number;
  /** In a cluster: the workers asked for and those serving, as the primary last said (server.ts); absent when not clustered. */
  workers?: () => { wanted: number; serving: number } | undefined;
  /** A request not answered within this is answered 503 (evaluate-batch streams, and is bounded by the server's requestTimeout instead). */
  requestTimeoutMs?: number;
  /**
   * Proposals and their publication (proposals.ts): the SQLite store and the rules folder, or the PostgreSQL store
   * every process loads published versions from. Absent (fixed rules, or a store that could not be opened), the proposal
   * routes answer 501; they also need `reload`, to swap a published version in.
   */
  proposals?: ProposalOptions;
  /**
   * What a draft of a rule set is compiled and measured with, for POST /v1/rulesets/{name}/draft-impact (draft-impact.ts):
   * the rule-set modules and the fixtures. Absent, the proposals' own are used; with neither, the route answers 501.
   */
  drafts?: DraftOptions;
}

interface BodyParserError {
  type?: string;
  status?: number;
}

/**
 * NDJSON answers (evaluate-batch) are never compressed: compression buffers what it is given until it has a block
 * to write, so the lines would stop arriving as they are decided (unless flushed per write), and deflating a stream
 * of full explanations (some 2 GB for 100,000 segment allocations) costs more CPU than deciding them. A batch that
 * wants a small answer asks for ?explain=none. (compression's own filter passes NDJSON by today only because
 * mime-db does not list it as compressible; this says so whatever the next mime-db says.)
 */
const compressible = (req: Request, res: Response): boolean => {
  const type = res.getHeader('Content-Type');
  return !(typeof type === 'string' && type.startsWith('application/x-ndjson')) && compression.filter(req, res);
};

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
    interpretations: listedInterpretations(ruleSet),
  };
}

/** A version's interpretations as GET /v1/rulesets/{name} lists them: unconfirmed first, each group in file order. */
function listedInterpretations(ruleSet: CompiledRuleSet) {
  const listed = interpretationsOf(ruleSet.file).map(({ on, name, interpretation }) => ({
    on,
    name,
    ...interpretation,
    confirmed: isConfirmed(interpretation),
  }));
  return [...listed.filter((i) => !i.confirmed), ...listed.filter((i) => i.confirmed)].map(
    ({ on, name, question, chosen, confirmed, confirmedBy, confirmedOn }) => ({
      on,
      name,
      question,
      chosen,
      confirmed,
      ...(confirmedBy !== undefined && { confirmedBy }),
      ...(confirmedOn !== undefined && { confirmedOn }),
    }),
  );
}

/**
 * GET /v1/rulesets/{name}: the version in force on `asOf`, and every version's period with the readings it applies
 * that policy staff have not confirmed (what the rules page lists for them).
 */
export function ruleSetDetail(versions: RuleSetVersions, asOf: string) {
  return {
    ...describeRuleSet(versions.resolve(asOf)),
    versions: versions.versions.map((v) => ({
      version: v.version,
      effectiveFrom: v.effectiveFrom,
      effectiveTo: v.effectiveTo,
      file: v.sourceFile,
      unconfirmedInterpretations: interpretationsOf(v.file)
        .filter(({ interpretation }) => !isConfirmed(interpretation))
        .map(({ on, name, interpretation: { question, chosen } }) => ({ on, name, question, chosen })),
    })),
  };
}

/**
 * The evaluate answer: the decision's JSON (decision-json.ts), in full, with ?explain=summary its outcome and summary, or
 * with ?explain=none its outcome and the rules that fired, and one write. res.json would go through JSON.stringify of the ~20 KB decision and res.send's
 * type and freshness handling; the bytes and headers sent are otherwise the same.
 */
function sendDecision(res: Response, { decision }: Decided, decisionId: string, explain: Explain): void {
  // A request the timeout has answered already (limits.ts) gets nothing more.
  if (res.headersSent) return;
  const body = answerJson(decision, decisionId, explain);
  res.setHeader('X-Decision-Id', decisionId);
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** One impact case as sent: checked here so a malformed case is a 400 naming it, not a refusal inside the report. */
function impactCases(body: unknown): ImpactCase[] {
  const cases = (body as { cases?: unknown } | null)?.cases;
  if (!Array.isArray(cases) || cases.length === 0 || cases.length > MAX_IMPACT_CASES) {
    throw new DecisionError('invalid-request', `Send { "cases": [ { "id", "ruleSet", "asOf", "facts" }, … ] } with 1 to ${MAX_IMPACT_CASES} cases.`, [
      { pointer: '/cases', message: `must be an array of 1 to ${MAX_IMPACT_CASES} cases` },
    ]);
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
  // A path is served as the document lists it, and no other way: /x/ is not /x (Express ignores a trailing slash by
  // default), so a trailing slash is a 404 on every route. Set before any route: the router reads it when it is made.
  app.enable('strict routing');
  app.disable('x-powered-by');
  app.set('json spaces', 0);
  app.set('etag', false);

  // Outermost: the request's id and its log line, and its count and latency, whatever happens later.
  if (options.requestLogger) app.use(requestLog(options.requestLogger));
  if (metrics) app.use(metrics.middleware());
  // Answers compressed when the client accepts it (an explained segment allocation, ~31 KB, gzips to ~4.8 KB; the README's direct referral 9.6 KB to 2.3 KB); answers under
  // 1 KB (problems, health) are not worth it, and are sent as they are. A request that accepts no encoding (no
  // Accept-Encoding at all) skips the middleware: it would wrap the response's methods and negotiate, per request,
  // to send it as it is anyway.
  const compress = compression({ filter: compressible });
  app.use((req, res, next) => (req.headers['accept-encoding'] === undefined ? next() : compress(req, res, next)));
  app.use(
    helmet({
      // The API answers JSON only; the /rules page sets its own policy below, with the hashes of its inline script and style.
      // Not helmet's defaults (made for pages: scripts and styles from this origin): an answer here loads nothing at all.
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"], frameAncestors: ["'none'"] },
      },
    }),
  );
  if (options.requestTimeoutMs) {
    const timeout = requestTimeout(options.requestTimeoutMs);
    // A batch streams its answer for as long as the client sends; the server's requestTimeout bounds it instead.
    app.use((req, res, next) => (req.path.endsWith('/evaluate-batch') ? next() : timeout(req, res, next)));
  }

  const limiter = rateLimitPerKey({ perMinute: options.ratePerMinute ?? 0, workers: options.rateLimitWorkers ?? 1 });
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
    res.json({
      status: workers && workers.serving < workers.wanted ? 'degraded' : 'ready',
      decisionLog: recorder.log.kind,
      versions: versionsByFile(rules()),
      ...(workers ? { workers } : {}),
    });
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
    const asOf = asOfOf(req) ?? todayInSydney(clock());
    res.json(ruleSetDetail(versions, asOf));
  });

  app.post(
    '/v1/rulesets/:name/evaluate',
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
      const explain = explainOf(req);
      const made = decideRequest(versions, req.body, engineOf(req), () => todayInSydney(clock()), explain);
      // The compiled engine answers synchronously; only the reference engine needs awaiting.
      const decided = made instanceof Promise ? await made : made;
      const record = recorder.entry(decided, callerOf(res).id);
      res.locals.decisionId = record.decisionId;
      // Recorded first, answered second: a decision the log does not hold is never given (503 instead).
      await recorder.commit([record], [decided.ruleSet]);
      metrics?.decision(decided.decision.ruleSet, outcomeLabel(decided.decision), decided.decision.evaluator);
      sendDecision(res, decided, record.decisionId, explain);
    },
  );

  app.post(
    '/v1/rulesets/:name/evaluate-batch',
    ...guard('evaluate'),
    evaluateBatch({ lineLimitBytes: BODY_LIMIT_BYTES, ...DEFAULT_BATCH_LIMITS, ...options.batch, ruleSetNamed, clock, logger, recorder, metrics }),
  );

  if (reload) {
    app.post('/v1/admin/reload', ...guard('reload'), noBody, async (_req, res) => {
      const report = await reload();
      if (!report.ok) {
        throw new DecisionError(
          'rules-refused',
          `The rule files were refused (${report.issues.length} problem(s)); still serving the last good rules.`,
          report.issues,
        );
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
          throw new DecisionError(
            'rules-refused',
            `The rule files on disk are refused (${error.issues.length} problem(s)), so there is nothing to compare; fix them first.`,
            error.issues,
          );
        }
        throw error;
      }
      const current = rules();
      const report = await impactOf(current, candidate, cases);
      res.json({ current: versionsByFile(current), candidate: versionsByFile(candidate), report });
    });
  }

  addProposalRoutes(app, {
    rules,
    reload,
    clock,
    guard,
    body: [jsonOnly, jsonBody(BODY_LIMIT_BYTES)],
    ruleSetNamed,
    proposals: options.proposals,
  });

  // A backlog of a few thousand referrals is sent whole with the draft: a larger body than one case's.
  const drafts = options.drafts ?? options.proposals;
  addDraftImpactRoute(app, {
    rules,
    clock,
    guard,
    body: [jsonOnly, jsonBody(DRAFT_BODY_LIMIT_BYTES)],
    ruleSetNamed,
    log: recorder.log,
    ...(drafts ? { drafts: { modules: drafts.modules, ...(drafts.fixturesDirectory ? { fixturesDirectory: drafts.fixturesDirectory } : {}) } } : {}),
  });

  const replayer = new DecisionReplayer(recorder.log, rules);
  addDecisionRoutes(app, replayer, guard('read-decisions'), jsonOnly, jsonBody(BODY_LIMIT_BYTES, { oneCase: true }));

  app.use((req, _res, next) => {
    next(new DecisionError('not-found', `Nothing is served at ${req.method} ${req.path}.`));
  });

  // Every failure becomes a problem here.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const parserError = error as BodyParserError;
    let known: DecisionError | undefined;
    if (error instanceof DecisionError) known = error;
    // A path that is not valid percent-encoding (Express fails to decode a route parameter): nothing is served there.
    else if (error instanceof URIError)
      known = new DecisionError('not-found', `Nothing is served at ${req.method} ${req.path}: the path is not valid percent-encoding.`);
    else if (parserError?.type === 'entity.too.large')
      known = new DecisionError('payload-too-large', `The body exceeds the limit of ${BODY_LIMIT_BYTES} bytes (1 MiB).`);
    else if (parserError?.type === 'entity.parse.failed') known = invalidJson(error);
    else if (parserError?.type === 'charset.unsupported') known = unsupportedCharset((error as Error).message);
    else if (parserError?.type === 'encoding.unsupported') known = new DecisionError('unsupported-media-type', (error as Error).message);
    else if (parserError?.type === 'request.aborted' || parserError?.type === 'request.size.invalid')
      known = new DecisionError('invalid-json', (error as Error).message);
    // Any other fault body-parser finds in the body itself (a corrupt gzip stream, say) is the client's: a 400, not a 500.
    else if (parserError?.status === 400 && (error as { expose?: boolean }).expose === true)
      known = new DecisionError('invalid-json', `The body could not be read: ${(error as Error).message}`, [{ pointer: '', message: 'could not be read' }]);
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
  });

  return app;
}

/**
 * GET /v1/rulesets/{name}'s `asOf` query parameter: absent, today (undefined); else a date as evaluate's asOf must be
 * (isAsOf), or a 400 naming it. Not the version of another day than the one asked for.
 */
function asOfOf(req: Request): string | undefined {
  const { asOf } = req.query;
  if (asOf === undefined) return undefined;
  if (isAsOf(asOf)) return asOf;
  const given = typeof asOf === 'string' ? JSON.stringify(asOf) : 'it more than once';
  throw new DecisionError(
    'invalid-request',
    `The asOf query parameter must be a real calendar date written YYYY-MM-DD, or left out for today in Sydney (got ${given}).`,
    [{ pointer: '', message: `query parameter asOf ${NOT_A_DATE}` }],
  );
}

/**
 * For a route that reads no body (POST /v1/admin/reload): a body sent is refused, naming it, not ignored, since whatever
 * the client meant by it the route would not do. A declared Content-Length is refused unread (the connection closes
 * after the answer); a chunked body at its first byte; one that ends without a byte is no body.
 */
const noBody: RequestHandler = (req, _res, next) => {
  const refusal = (sent: string) =>
    new DecisionError('invalid-request', `${req.method} ${req.path} reads no body; send the request without one (got ${sent}).`, [
      { pointer: '', message: 'must be empty: this route reads no body' },
    ]);
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > 0) {
    next(refusal(`a body of ${length} bytes`));
    return;
  }
  if (req.headers['transfer-encoding'] === undefined) {
    next();
    return;
  }
  const settle = (error?: DecisionError) => {
    req.off('data', onData).off('end', onEnd).off('error', onError);
    next(error);
  };
  const onData = () => {
    req.pause();
    settle(refusal('a chunked body'));
  };
  const onEnd = () => settle();
  // The client went away mid-body: nobody reads the answer, but the request is settled all the same.
  const onError = (error: Error) =>
    settle(new DecisionError('invalid-request', `The body could not be read: ${error.message}`, [{ pointer: '', message: 'could not be read' }]));
  req.on('data', onData).on('end', onEnd).on('error', onError);
};

/** The routes that read one JSON document take it as application/json, as the document lists, and nothing else. */
const jsonOnly: RequestHandler = (req, _res, next) => {
  if (!req.is(JSON_MEDIA_TYPE)) throw unsupportedMediaType(req.headers['content-type'], [JSON_MEDIA_TYPE]);
  next();
};

/** The /rules page's Content-Security-Policy: only its own inline script and style, by hash, and the API on this origin. */
function pagePolicy(html: string): string {
  const hashes = (tag: string) =>
    [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))]
      .map(
        (m) =>
          `'sha256-${createHash('sha256')
            .update(m[1] as string)
            .digest('base64')}'`,
      )
      .join(' ');
  return `default-src 'none'; script-src ${hashes('script')}; style-src ${hashes('style')}; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}
