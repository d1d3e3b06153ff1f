// A decision as the API sends it: byte for byte JSON.stringify(decision), with each rule's JSON reused when it recurs.
//
// Hot path: an explained segment allocation is ~20 KB of JSON, and JSON.stringify of it was the
// largest single cost of an HTTP evaluate (profiled under autocannon; `npm run bench`, section e).
// Most of it repeats from case to case: a rule's entry is fixed by its definition and by each
// condition's actual value and result (counts of 0 or 1, a referral source, a flag). So each
// rule's JSON is kept, per rule definition, under a key of those values, and reused; the rest of
// the decision is written as JSON.stringify writes it. test/api/decision-json.test.ts proves the
// bytes equal JSON.stringify's over generated cases of every rule set and both evaluators.
import type { Decided } from '../decisions/recorder';
import type { Explain } from './decide-request';
import type { Decision } from '../engine/evaluate';
import { ConditionLine, type ConditionExplanation, type RuleExplanation } from '../engine/explain';

/** Per rule definition (its sources array, owned by one compiled version): key of its values → its JSON. */
const rulesJson = new WeakMap<object, Map<string, string>>();
/** Distinct value combinations kept per rule; beyond this the rule's map starts again. */
const PER_RULE = 512;

/** JSON of objects a compiled version owns and nobody mutates (parameters, the interpretations a subset relies on), by identity. */
const versionJson = new WeakMap<object, string>();

function conditionKey(condition: ConditionExplanation): string {
  if (condition instanceof ConditionLine) {
    // The expected value is fixed per rule unless it names another fact; then it varies too.
    const expected = condition.expectedFrom !== undefined && !condition.expectedFrom.startsWith('parameter ') ? `=${JSON.stringify(condition.expected)}` : '';
    return `${JSON.stringify(condition.actual)}${expected}:${condition.result}`;
  }
  if ('all' in condition) return `(${condition.all.map(conditionKey).join(',')})${condition.result}`;
  if ('any' in condition) return `(${condition.any.map(conditionKey).join(',')})${condition.result}`;
  return `!(${conditionKey(condition.not)})${condition.result}`;
}

function ruleJson(rule: RuleExplanation): string {
  let known = rulesJson.get(rule.sources);
  if (!known) {
    known = new Map();
    rulesJson.set(rule.sources, known);
  }
  const key = `${rule.rule}\n${rule.fired}\n${conditionKey(rule.conditions)}`;
  let json = known.get(key);
  if (json === undefined) {
    json = JSON.stringify(rule);
    if (known.size >= PER_RULE) known.clear();
    known.set(key, json);
  }
  return json;
}

function parametersJson(parameters: Decision['parameters']): string {
  let json = versionJson.get(parameters);
  if (json === undefined) {
    json = JSON.stringify(parameters);
    versionJson.set(parameters, json);
  }
  return json;
}

/** A decision's unconfirmed interpretations are its version's, shared by every decision of a rule subset: by identity. */
function interpretationsJson(list: Decision['unconfirmedInterpretations']): string {
  let json = versionJson.get(list);
  if (json === undefined) {
    json = JSON.stringify(list);
    versionJson.set(list, json);
  }
  return json;
}

const str = (value: string): string => JSON.stringify(value);

/**
 * JSON.stringify(decision), the same bytes, faster when rules' entries recur. With a decision id
 * (the decision log's), the same bytes as JSON.stringify({ decisionId, ...decision }).
 */
export function decisionJson(decision: Decision, decisionId?: string): string {
  const explanation = decision.explanation.map(ruleJson).join(',');
  const id = decisionId === undefined ? '' : `"decisionId":${str(decisionId)},`;
  const summary = decision.summary === undefined ? '' : `"summary":${JSON.stringify(decision.summary)},`;
  return `{${id}"ruleSet":${str(decision.ruleSet)},"version":${str(decision.version)},"effective":${JSON.stringify(decision.effective)},"asOf":${str(decision.asOf)},"evaluator":${str(decision.evaluator)},"outcome":${JSON.stringify(decision.outcome)},${summary}"defaultsApplied":${JSON.stringify(decision.defaultsApplied)},"unconfirmedInterpretations":${interpretationsJson(decision.unconfirmedInterpretations)},"explanation":[${explanation}],"derivedFacts":${JSON.stringify(decision.derivedFacts)},"parameters":${parametersJson(decision.parameters)}}`;
}

/**
 * The short answer (?explain=none): the decision's id, rule set, version and date, its outcome, the fact defaults it
 * applied (policy the answer rests on, so never left out) and the ids of the rules that fired, in file order; none of
 * the explanation, derived facts or parameters. From a verdict (the
 * compiled engine without an explanation) or from an explained decision (the reference engine). `written`: the
 * outcome's and the fired rules' JSON, when the decision's log record has written them already.
 */
export function shortDecisionJson(decision: Decided['decision'], decisionId: string, written?: { outcome: string; fired: string }): string {
  let fired: string;
  if (written) fired = written.fired;
  else if ('fired' in decision) fired = JSON.stringify(decision.fired);
  else {
    const names: string[] = [];
    for (const rule of decision.explanation) if (rule.fired) names.push(rule.rule);
    fired = JSON.stringify(names);
  }
  const outcome = written ? written.outcome : JSON.stringify(decision.outcome);
  return `{"decisionId":${str(decisionId)},"ruleSet":${str(decision.ruleSet)},"version":${str(decision.version)},"asOf":${str(decision.asOf)},"outcome":${outcome},"defaultsApplied":${JSON.stringify(decision.defaultsApplied)},"fired":${fired}}`;
}

/**
 * The caseworker's answer (?explain=summary): the decision's id, rule set, version, period and date, its evaluator and
 * outcome, and its summary; none of the trace. The same bytes as JSON.stringify of those fields in that order.
 */
export function summaryDecisionJson(
  decision: Pick<Decision, 'ruleSet' | 'version' | 'effective' | 'asOf' | 'evaluator' | 'outcome' | 'summary'>,
  decisionId: string,
): string {
  return `{"decisionId":${str(decisionId)},"ruleSet":${str(decision.ruleSet)},"version":${str(decision.version)},"effective":${JSON.stringify(decision.effective)},"asOf":${str(decision.asOf)},"evaluator":${str(decision.evaluator)},"outcome":${JSON.stringify(decision.outcome)},"summary":${JSON.stringify(decision.summary ?? null)}}`;
}

/**
 * The answer a decision is given as, for the `explain` asked: the summary answer, the short one, or the decision in
 * full. A decision given without its explanation (the compiled engine's verdict) has no full answer: it is given short.
 */
export function answerJson(decision: Decided['decision'], decisionId: string, explain: Explain, written?: { outcome: string; fired: string }): string {
  if (explain === 'summary' && decision.summary !== undefined) return summaryDecisionJson(decision, decisionId);
  if (explain === 'none' || !('explanation' in decision)) return shortDecisionJson(decision, decisionId, written);
  return decisionJson(decision, decisionId);
}
