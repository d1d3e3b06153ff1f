// What a rule's conditions read, for what is worked out from a rule set's rules before any case (compile.ts, interpretations.ts).

/** Every fact a condition reads: each leaf's fact, and the fact its value names (a parameter's `param:` fact too). */
export function conditionFacts(condition: unknown, into: Set<string> = new Set()): Set<string> {
  const node = condition as Record<string, unknown>;
  for (const group of ['all', 'any']) if (Array.isArray(node[group])) for (const child of node[group] as unknown[]) conditionFacts(child, into);
  if (node.not) conditionFacts(node.not, into);
  if (typeof node.fact === 'string') into.add(node.fact);
  const value = node.value as { fact?: unknown } | null;
  if (value !== null && typeof value === 'object' && typeof value.fact === 'string') into.add(value.fact);
  return into;
}
