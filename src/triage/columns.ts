// The flattened CSV output: which columns each rule set contributes (its module says), and how a value becomes a cell.
import { RULE_SET_MODULES } from '../rulesets';

/** A rule set with no module here gets its whole outcome as one JSON cell. */
const WHOLE_OUTCOME = ['outcome'];

/** Outcome fields of a rule set, in column order, as its module lists them; nested fields are dotted ("indicators.segment3"). */
export function outcomeColumns(ruleSet: string): readonly string[] {
  return RULE_SET_MODULES[ruleSet]?.columns ?? WHOLE_OUTCOME;
}

/** The record's re-triage date: the earliest of its rule sets' (the first day one of its answers may change). */
export const RE_TRIAGE_ON = 're-triage on';

/**
 * The header row, in a team leader's words first: where the record is in the queue, when it is due, what to do next,
 * why and who must approve; then per rule set its version and outcome fields; then every rule that fired, in one
 * column; with --explain each rule set's explanation; last the input's digest, which --previous reads.
 */
export function csvHeader(ruleSets: readonly string[], { rank, explain }: { rank: boolean; explain: boolean }): string[] {
  const header = ['id', 'line', ...(rank ? ['rank'] : []), 'tier', 'due by', 'overdue', 'next action', 'reason', 'approver', RE_TRIAGE_ON, 'program', 'as of'];
  for (const ruleSet of ruleSets) header.push(`${ruleSet}.version`, ...outcomeColumns(ruleSet).map((field) => `${ruleSet}.${field}`));
  header.push('rules');
  if (explain) header.push(...ruleSets.map((ruleSet) => `${ruleSet}.explanation`));
  header.push('inputDigest');
  return header;
}

/** One cell: lists joined with ";", null left empty, anything else nested as JSON. */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(';');
  return JSON.stringify(value);
}

/** The outcome's cells for one rule set, in outcomeColumns order. */
export function outcomeCells(ruleSet: string, outcome: Record<string, unknown>, into: string[]): void {
  const columns = RULE_SET_MODULES[ruleSet]?.columns;
  if (!columns) {
    into.push(JSON.stringify(outcome));
    return;
  }
  for (const field of columns) {
    const dot = field.indexOf('.');
    const value = dot < 0 ? outcome[field] : (outcome[field.slice(0, dot)] as Record<string, unknown> | undefined)?.[field.slice(dot + 1)];
    into.push(cell(value));
  }
}
