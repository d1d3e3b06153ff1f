// Shared reading of fired rules: a checklist met when all its rules fire, and grounds (bases, pathways) tried in order.
import type { ModuleProblem, OutcomeContext } from '../engine/compile';
import type { RuleFile } from '../engine/types';

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

/** Tries each ground the rule file's `outcome.bases` lists: met when all weighed rules required for it fire. Reads `program`. */
export function judgeGrounds(context: OutcomeContext): GroundsVerdict {
  const grounds = (context.file.outcome.bases ?? []) as Ground[];
  const open = grounds.filter((g) => !g.programs || g.programs.includes(String(context.fact('program'))));
  const unmetBy: Record<string, string[]> = {};
  for (const ground of open) unmetBy[ground.id] = unmetRules(context, (rule) => rule.requiredFor?.includes(ground.id) ?? false);
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
      : [{ pointer: `/outcome/bases/${i}/id`, message: `${JSON.stringify(ground?.id)} is not a ground this rule set's outcome knows (${known.join(', ')}): a new ground is added to the outcome schema in its module too` }],
  );
}
