// A decision's summary: what a caseworker with a customer on the phone reads first. Why, in a few plain lines (the
// rules that decided it, with the customer's values and dates); until when it holds (the first day on which time
// alone changes the verdict); what would change it (the smallest change to facts a caseworker can act on or check,
// for each other verdict reachable); and which facts were assumed (the rule file's defaults the case needed).
//
// Pure, as the rest of the engine: the rule set's versions (holdsUntil looks at the versions after asOf), the
// decision made, and the facts it was made on. Every rule set alike: what each reads of its own outcome comes from
// its module (which rules decided it, which outcome fields are dates reckoned from asOf) and its rule files.
import type { CaseFacts } from '../facts/validate';
import type { RuleSetVersions } from '../loader/load';
import { RULE_SET_MODULES } from '../rulesets';
import { summaryChanges, type Change } from './changes';
import type { CompiledRuleSet } from './compile';
import { decideRun, runOf, type CaseRun, type Decision, type Verdict } from './evaluate';
import { holdsUntil } from './holds-until';
import { summaryAssumed, summaryReasons, type Assumed, type Reason } from './reasons';

export type { Assumed, Change, Reason };

export interface Summary {
  reasons: Reason[];
  holdsUntil: string | null;
  /**
   * Given when the facts as the request sent them are (`requestFacts` below: each change is a JSON Patch on them), as
   * every API answer does; a fixture's pinned summary leaves them out.
   */
  changes?: Change[];
  assumed: Assumed[];
}

/**
 * The summary of an explained decision `ruleSet` (one of `versions`) made on `facts` (validated, defaults filled in),
 * by either evaluator: its reasons read from the decision's own explanation. With `requestFacts` (the facts as the
 * request sent them, before any default was filled in: each change is a JSON Patch on them), the changes that would
 * reach each other verdict too.
 */
export function summarize(versions: RuleSetVersions, ruleSet: CompiledRuleSet, decision: Decision, facts: CaseFacts, requestFacts?: unknown): Summary {
  return summaryOf(versions, runOf(ruleSet, facts, decision), decision, facts, requestFacts);
}

/**
 * A decision without its explanation, and its summary (?explain=summary): the verdict (decideVerdict's), and the
 * summary worked out from the case as the rules read it, explaining only the few rules that decided it.
 */
export function decideSummary(
  versions: RuleSetVersions,
  ruleSet: CompiledRuleSet,
  facts: CaseFacts,
  asOf: string,
  requestFacts?: unknown,
): Verdict & { summary: Summary } {
  const { verdict, run } = decideRun(ruleSet, facts, asOf);
  return { ...verdict, summary: summaryOf(versions, run, verdict, facts, requestFacts) };
}

function summaryOf(
  versions: RuleSetVersions,
  run: CaseRun,
  decision: Pick<Decision, 'derivedFacts' | 'defaultsApplied'>,
  facts: CaseFacts,
  requestFacts: unknown,
): Summary {
  const { ruleSet } = run;
  const module = RULE_SET_MODULES[ruleSet.name];
  if (!module) throw new Error(`no module is registered for rule set ${ruleSet.name}`);
  return {
    reasons: summaryReasons(run, facts),
    holdsUntil: holdsUntil(versions, facts, run.asOf, run.outcome, decision.derivedFacts, run.factMap),
    ...(requestFacts === undefined ? {} : { changes: summaryChanges(run, module, requestFacts) }),
    assumed: summaryAssumed(ruleSet, decision),
  };
}
