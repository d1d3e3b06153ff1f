// The HTTP API: routes, content negotiation and error mapping. createApp() never listens; tests drive it directly.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { todayInSydney } from '../dates/calendar';
import { citation } from '../engine/explain';
import type { CompiledRuleSet } from '../engine/compile';
import type { Decision } from '../engine/evaluate';
import { DecisionError } from '../errors';
import type { RuleRegistry, RuleSetVersions } from '../loader/load';
import type { ReloadReport } from '../loader/store';
import { DEFAULT_MAX_BATCH_LINES, evaluateBatch } from './batch';
import { decideRequest, engineOf } from './decide-request';
import { decisionJson } from './decision-json';
import { invalidJson, jsonBody } from './json-body';
import { internalProblem, problemOf, sendProblem } from './problem';

export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface AppLogger {
  error(details: object, message: string): void;
}

export interface AppOptions {
  /** The rule sets in force; read per request, so a reload that swaps the registry takes effect at once. */
  rules: () => RuleRegistry;
  /** Validates and swaps in the rules on disk (in a cluster, in every worker); absent when the app serves fixed rules. */
  reload?: () => ReloadReport | Promise<ReloadReport>;
  clock?: () => Date;
  logger?: AppLogger;
  /** Lines one evaluate-batch request may carry (see batch.ts for why, and what happens past it). */
  maxBatchLines?: number;
}

const isJson = (req: Request): boolean => Boolean(req.is(['application/json', 'application/*+json']));

interface BodyParserError {
  type?: string;
  status?: number;
}

function describeRuleSet(ruleSet: CompiledRuleSet) {
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
function sendDecision(res: Response, decision: Decision): void {
  const body = decisionJson(decision);
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function createApp({ rules, reload, clock = () => new Date(), logger, maxBatchLines = DEFAULT_MAX_BATCH_LINES }: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('json spaces', 0);

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
  app.get('/rules', (_req, res) => {
    res.type('html').send(rulesPage);
  });

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/v1/rulesets', (_req, res) => {
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

  app.get('/v1/rulesets/:name', (req, res) => {
    const versions = ruleSetNamed(req.params.name);
    const asOf = typeof req.query.asOf === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(req.query.asOf) ? req.query.asOf : todayInSydney(clock());
    res.json({
      ...describeRuleSet(versions.resolve(asOf)),
      versions: versions.periods(),
    });
  });

  app.post(
    '/v1/rulesets/:name/evaluate',
    (req, res, next) => {
      // The registry is read once, here: a reload during this request does not change its rules.
      const ruleSet = ruleSetNamed(String(req.params.name));
      if (!isJson(req)) {
        throw new DecisionError('unsupported-media-type', `Send the request as application/json (got ${req.get('content-type') ?? 'no content type'}).`);
      }
      res.locals.ruleSet = ruleSet;
      next();
    },
    jsonBody(BODY_LIMIT_BYTES),
    (req, res) => {
      const versions = res.locals.ruleSet as RuleSetVersions;
      const decision = decideRequest(versions, req.body, engineOf(req), () => todayInSydney(clock()));
      // The compiled engine answers synchronously: no promise on the hot path.
      if (decision instanceof Promise) return decision.then((d) => sendDecision(res, d));
      sendDecision(res, decision);
    },
  );

  app.post('/v1/rulesets/:name/evaluate-batch', evaluateBatch({ lineLimitBytes: BODY_LIMIT_BYTES, maxLines: maxBatchLines, ruleSetNamed, clock, logger }));

  if (reload) {
    app.post('/v1/admin/reload', async (_req, res) => {
      const report = await reload();
      if (!report.ok) {
        throw new DecisionError('rules-refused', `The rule files were refused (${report.issues.length} problem(s)); still serving the last good rules.`, report.issues);
      }
      res.json({ reloaded: true, versions: report.versions, changed: report.changed });
    });
  }

  app.use((req, _res, next) => {
    next(new DecisionError('not-found', `Nothing is served at ${req.method} ${req.path}.`));
  });

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const parserError = error as BodyParserError;
    let known: DecisionError | undefined;
    if (error instanceof DecisionError) known = error;
    else if (parserError?.type === 'entity.too.large') known = new DecisionError('payload-too-large', `The body exceeds the limit of ${BODY_LIMIT_BYTES} bytes (1 MiB).`);
    else if (parserError?.type === 'entity.parse.failed') known = invalidJson(error);
    else if (parserError?.type === 'charset.unsupported' || parserError?.type === 'encoding.unsupported') known = new DecisionError('unsupported-media-type', (error as Error).message);
    else if (parserError?.type === 'request.aborted' || parserError?.type === 'request.size.invalid') known = new DecisionError('invalid-json', (error as Error).message);
    // Any other fault body-parser finds in the body itself (a corrupt gzip stream, say) is the client's: a 400, not a 500.
    else if (parserError?.status === 400 && (error as { expose?: boolean }).expose === true) known = new DecisionError('invalid-json', `The body could not be read: ${(error as Error).message}`, [{ pointer: '', message: 'could not be read' }]);
    if (known && known.code !== 'internal' && known.code !== 'rule-file-invalid') {
      sendProblem(res, problemOf(known, req.originalUrl));
      return;
    }
    logger?.error({ err: error, path: req.path }, 'unhandled error');
    sendProblem(res, internalProblem(req.originalUrl));
  });

  return app;
}
