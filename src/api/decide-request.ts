// From a parsed request to a decision, for evaluate and evaluate-batch alike: the engine asked for, the version in force, the facts checked.
import type { Request } from 'express';
import { decide, decideVerdict, evaluate, type Evaluator } from '../engine/evaluate';
import { decideSummary, summarize } from '../engine/summary';
import { DecisionError } from '../errors';
import { parseEvaluateRequest } from '../facts/validate';
import type { RuleSetVersions } from '../loader/load';
import type { Decided } from '../decisions/recorder';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The `engine` query parameter, checked once per request: compiled (default) or reference. */
export function engineOf(req: Request): Evaluator {
  const engine = req.query.engine ?? 'compiled';
  if (engine !== 'compiled' && engine !== 'reference') {
    throw new DecisionError('invalid-request', 'The engine query parameter must be "compiled" (default) or "reference" (json-rules-engine itself).', [
      { pointer: '', message: 'query parameter engine must be compiled or reference' },
    ]);
  }
  return engine;
}

/**
 * How much of the decision the answer carries, from the `explain` query parameter: `full` (default) the summary and
 * the whole explanation, rule by rule; `summary` the outcome and the summary a caseworker reads (the reasons, until
 * when it holds, what would change it, what was assumed), without the trace; `none` the outcome and the ids of the
 * rules that fired, as triage writes a line without --explain. The decision log keeps the outcome and the fired
 * rules either way, never the explanation, which the same facts, date and version give again; of a summary, when the
 * answer carries one, it keeps holdsUntil, which rests on the other versions loaded then as well (log.ts
 * RecordedSummary).
 */
export type Explain = 'full' | 'summary' | 'none';

const EXPLAIN: readonly string[] = ['full', 'summary', 'none'] satisfies Explain[];

/** The `explain` query parameter, checked once per request. */
export function explainOf(req: Request): Explain {
  const explain = req.query.explain ?? 'full';
  if (typeof explain !== 'string' || !EXPLAIN.includes(explain)) {
    throw new DecisionError(
      'invalid-request',
      'The explain query parameter must be "full" (default: the summary and the decision explained rule by rule), "summary" (the outcome and the summary, without the trace) or "none" (the outcome and the rules that fired).',
      [{ pointer: '', message: 'query parameter explain must be full, summary or none' }],
    );
  }
  return explain as Explain;
}

/**
 * Decides one parsed `{ asOf?, facts }` body. Both routes call this, so a batch line answers exactly
 * what POST …/evaluate answers for the same body. With explain `none` the compiled engine gives the verdict
 * alone (the outcome and the rules that fired); the reference engine always explains. The compiled engine answers synchronously (no
 * promise on the hot path); the reference engine returns a promise. The validated facts come back
 * with the decision: the decision log records their digest.
 */
export function decideRequest(
  versions: RuleSetVersions,
  body: unknown,
  engine: Evaluator,
  today: () => string,
  explain: Explain = 'full',
): Decided | Promise<Decided> {
  const given = (body as { asOf?: unknown } | null | undefined)?.asOf;
  const asOf = typeof given === 'string' ? given : today();
  // A malformed asOf still picks a version (today's), so the schema check below reports it with every other problem.
  const ruleSet = versions.resolve(DATE.test(asOf) ? asOf : today());
  // The summary's changes are JSON Patches on the facts as sent: then the defaults are filled into a copy (of the
  // objects the vocabulary describes only, so a body nested thousands deep is refused where it is, not copied), and the
  // body's facts stay as sent. Otherwise the body was parsed for this request alone (express.json, or this line):
  // defaults may fill it in place.
  const summarised = explain !== 'none';
  const request = parseEvaluateRequest(body, ruleSet.name, ruleSet.file.requires, { copy: summarised });
  const sent = summarised ? (body as { facts: unknown }).facts : undefined;
  const on = request.asOf ?? asOf;
  const facts = request.facts;
  if (engine === 'compiled') {
    // Without an explanation the compiled rules run without building one (as triage does): the same outcome and fired rules.
    if (explain === 'none') return { decision: { ...decideVerdict(ruleSet, facts, on), evaluator: engine }, ruleSet, facts };
    // The summary without the trace: the rules run without building it, and only those that decided are explained.
    if (explain === 'summary') return { decision: { ...decideSummary(versions, ruleSet, facts, on, sent), evaluator: engine }, ruleSet, facts };
    const decision = decide(ruleSet, facts, on);
    decision.summary = summarize(versions, ruleSet, decision, facts, sent);
    return { decision, ruleSet, facts };
  }
  return evaluate(ruleSet, facts, on, 'reference').then((decision) => {
    if (explain !== 'none') decision.summary = summarize(versions, ruleSet, decision, facts, sent);
    return { decision, ruleSet, facts };
  });
}
