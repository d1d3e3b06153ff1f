// The HTTP API: routes, content negotiation and error mapping. createApp() never listens; tests drive it directly.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { todayInSydney } from '../dates/calendar';
import { evaluate, type Evaluator } from '../engine/evaluate';
import { citation } from '../engine/explain';
import type { CompiledRuleSet } from '../engine/compile';
import { DecisionError } from '../errors';
import { parseEvaluateRequest } from '../facts/validate';
import type { RuleRegistry, RuleSetVersions } from '../loader/load';
import type { ReloadReport } from '../loader/store';
import { internalProblem, problemOf, sendProblem } from './problem';

export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface AppLogger {
  error(details: object, message: string): void;
}

export interface AppOptions {
  /** The rule sets in force; read per request, so a reload that swaps the registry takes effect at once. */
  rules: () => RuleRegistry;
  /** Validates and swaps in the rules on disk; absent when the app serves fixed rules. */
  reload?: () => ReloadReport;
  clock?: () => Date;
  logger?: AppLogger;
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

export function createApp({ rules, reload, clock = () => new Date(), logger }: AppOptions): express.Express {
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
      const ruleSet = ruleSetNamed(req.params.name);
      if (!isJson(req)) {
        throw new DecisionError('unsupported-media-type', `Send the request as application/json (got ${req.get('content-type') ?? 'no content type'}).`);
      }
      res.locals.ruleSet = ruleSet;
      next();
    },
    express.json({ limit: BODY_LIMIT_BYTES, type: ['application/json', 'application/*+json'] }),
    async (req, res) => {
      const versions = res.locals.ruleSet as RuleSetVersions;
      const engine = req.query.engine ?? 'compiled';
      if (engine !== 'compiled' && engine !== 'reference') {
        throw new DecisionError('invalid-request', 'The engine query parameter must be "compiled" (default) or "reference" (json-rules-engine itself).', [{ pointer: '', message: 'query parameter engine must be compiled or reference' }]);
      }
      const asOf = typeof req.body?.asOf === 'string' ? req.body.asOf : todayInSydney(clock());
      const ruleSet = versions.resolve(/^\d{4}-\d{2}-\d{2}$/.test(asOf) ? asOf : todayInSydney(clock()));
      const request = parseEvaluateRequest(req.body, ruleSet.name, ruleSet.file.requires);
      const decision = await evaluate(ruleSet, request.facts, request.asOf ?? asOf, engine as Evaluator);
      res.json(decision);
    },
  );

  if (reload) {
    app.post('/v1/admin/reload', (_req, res) => {
      const report = reload();
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
    else if (parserError?.type === 'entity.parse.failed') known = new DecisionError('invalid-json', `The body is not valid JSON: ${(error as Error).message}`, [{ pointer: '', message: 'is not valid JSON' }]);
    else if (parserError?.type === 'charset.unsupported' || parserError?.type === 'encoding.unsupported') known = new DecisionError('unsupported-media-type', (error as Error).message);
    else if (parserError?.type === 'request.aborted' || parserError?.type === 'request.size.invalid') known = new DecisionError('invalid-json', (error as Error).message);
    if (known && known.code !== 'internal' && known.code !== 'rule-file-invalid') {
      sendProblem(res, problemOf(known, req.originalUrl));
      return;
    }
    logger?.error({ err: error, path: req.path }, 'unhandled error');
    sendProblem(res, internalProblem(req.originalUrl));
  });

  return app;
}
