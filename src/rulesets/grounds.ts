// Shared reading of fired rules: a checklist met when all its rules fire, and grounds (bases, pathways) tried in order.
import type { DecidedContext, DecidingRule, ModuleProblem, OutcomeContext } from '../engine/compile';
import type { RuleDefinition, RuleFile } from '../engine/types';

/** Names of the weighed rules that did not fire, in file order: the caseworker's checklist. */
export function unmetRules(context: OutcomeContext, include: (rule: { name: string; requiredFor?: string[] }) => boolean = () => true): string[] {
  return context.weighed.filter((rule) => include(rule) && !context.fired.has(rule.name)).map((rule) => rule.name);
}

export interface Ground {
  id: string;
  /** When listed, the ground is open only to these programs. */
  programs?: string[];
}

export interface GroundsVerdict {
  met: string | null;
  unmetBy: Record<string, string[]>;
  /** The first ground open to this case: its checklist is the one reported when nothing is met. */
  primary: string | null;
}

/**
 * The rules each ground requires among those weighed, in file order: worked out once per rule subset of a version (the
 * weighed array is one per subset, compile.ts) and ground, not once per case. Per case, matching each rule's
 * requiredFor against the ground's id compared strings that need not be the same string in memory (a ground's id read
 * from the rule file, made an alias of the same text elsewhere once used as a key), a third of an exit readiness's time.
 */
const requiredByGround = new WeakMap<readonly RuleDefinition[], Map<string, readonly string[]>>();
function requiredFor(context: { weighed: readonly RuleDefinition[] }, ground: string): readonly string[] {
  let byGround = requiredByGround.get(context.weighed);
  if (!byGround) {
    byGround = new Map();
    requiredByGround.set(context.weighed, byGround);
  }
  let names = byGround.get(ground);
  if (!names) {
    names = context.weighed.filter((rule) => rule.requiredFor?.includes(ground) ?? false).map((rule) => rule.name);
    byGround.set(ground, names);
  }
  return names;
}

/** Tries each ground the rule file's `outcome.bases` lists: met when all weighed rules required for it fire. Reads `program`. */
export function judgeGrounds(context: OutcomeContext): GroundsVerdict {
  const grounds = (context.file.outcome.bases ?? []) as Ground[];
  const program = String(context.fact('program'));
  const open = grounds.filter((g) => !g.programs || g.programs.includes(program));
  const unmetBy: Record<string, string[]> = {};
  for (const ground of open) {
    const unmet: string[] = [];
    for (const name of requiredFor(context, ground.id)) if (!context.fired.has(name)) unmet.push(name);
    unmetBy[ground.id] = unmet;
  }
  const met = open.find((g) => unmetBy[g.id]?.length === 0)?.id ?? null;
  return { met, unmetBy, primary: open[0]?.id ?? null };
}

/**
 * The grounds a rule file lists (`outcome.bases`) that its outcome schema does not know: the outcome names the ground
 * met, and its schema lists every ground a client may see, so a ground added in the rule file alone is refused.
 */
export function unknownGrounds(file: RuleFile, known: readonly string[]): ModuleProblem[] {
  const grounds = (file.outcome.bases ?? []) as { id?: unknown }[];
  if (!Array.isArray(grounds)) return [{ pointer: '/outcome/bases', message: 'outcome.bases must be a list of grounds { "id", "programs"? }' }];
  return grounds.flatMap((ground, i) =>
    typeof ground?.id === 'string' && known.includes(ground.id)
      ? []
      : [
          {
            pointer: `/outcome/bases/${i}/id`,
            message: `${JSON.stringify(ground?.id)} is not a ground this rule set's outcome knows (${known.join(', ')}): a new ground is added to the outcome schema in its module too`,
          },
        ],
  );
}

/** The most lines a decision's reasons give for rules met: more are summed up in one line. */
export const MAX_REASONS = 5;

const metLines = new WeakMap<readonly string[], readonly DecidingRule[]>();
/**
 * Rules met, as reasons: one line each when they are few (each says the customer's evidence), else one line saying
 * `summary` of them all. Made once per list of rules (lists cached per rule subset, so once per subset).
 */
export function allMet(rules: readonly string[], summary: (count: number) => string, room = MAX_REASONS): readonly DecidingRule[] {
  let lines = metLines.get(rules);
  if (!lines) {
    lines = rules.length <= room ? rules.map((rule) => ({ rule, met: true })) : [{ rules, met: true, text: summary(rules.length) }];
    metLines.set(rules, lines);
  }
  return lines;
}

/** Criteria not met, as reasons: one line each, since each is something to act on. */
export const unmetLines = (rules: readonly string[]): DecidingRule[] => rules.map((rule) => ({ rule, met: false }));

/**
 * What decided a grounds outcome: the ground met (its criteria, summed up under the ground's description when there are
 * more than MAX_REASONS), or the primary ground's unmet criteria.
 */
export function groundsDecidedBy(context: DecidedContext, met: string | null, unmet: readonly string[]): readonly DecidingRule[] {
  if (met === null) return unmetLines(unmet);
  const ground = ((context.file.outcome.bases ?? []) as (Ground & { description?: string })[]).find((g) => g.id === met);
  const said = (ground?.description ?? met).replace(/\.$/, '');
  return allMet(requiredFor(context, met), (count) => `${said}: all ${count} of its criteria are met`);
}
