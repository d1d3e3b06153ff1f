// A backlog of cases for impact analysis, read as `ps-rules diff --cases` and the policy editor's upload both read it:
// NDJSON, one case a line ({ id?, ruleSet?, asOf?, facts } or bare facts), or a CSV export through the triage mapping
// (each row's cells become facts as triage converts them). One reader, so the editor's counts and `ps-rules diff`'s on
// the same file are the same by construction. No I/O: the text is given.
import { CsvError, parse as parseCsv } from 'csv-parse/sync';
import type { ImpactCase } from './impact';
import { missingColumns, rowConverter, type CsvMapping } from '../triage/mapping';

/** A line or row that could not be read as a case: where, and why. */
export interface UnreadLine {
  line: number;
  problem: string;
}

export interface BacklogCases {
  cases: ImpactCase[];
  unread: UnreadLine[];
}

/**
 * The case of one NDJSON record, for each rule set it is for: the record's own ruleSet, else every one of `ruleSets`.
 * `line` names a record without an id; `defaultAsOf` dates one without an asOf.
 */
export function casesOfRecord(record: unknown, line: number, ruleSets: readonly string[], defaultAsOf: string): ImpactCase[] {
  const r = (record ?? {}) as { id?: unknown; ruleSet?: unknown; asOf?: unknown; facts?: unknown };
  const facts = (r.facts ?? record) as Record<string, unknown>;
  const id = typeof r.id === 'string' ? r.id : `line ${line}`;
  const asOf = typeof r.asOf === 'string' ? r.asOf : defaultAsOf;
  return (typeof r.ruleSet === 'string' ? [r.ruleSet] : ruleSets).map((ruleSet) => ({ id, ruleSet, asOf, facts }));
}

/** NDJSON text: a line that is not JSON, or not an object, is listed as unread (the rest are still compared). */
export function ndjsonCases(text: string, ruleSets: readonly string[], defaultAsOf: string): BacklogCases {
  const cases: ImpactCase[] = [];
  const unread: UnreadLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(raw);
    } catch (error) {
      unread.push({ line, problem: `not JSON: ${(error as Error).message}` });
      return;
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      unread.push({ line, problem: 'not a JSON object ({ id?, ruleSet?, asOf?, facts } or the facts themselves)' });
      return;
    }
    cases.push(...casesOfRecord(record, line, ruleSets, defaultAsOf));
  });
  return { cases, unread };
}

/** CSV text with a header row, converted by the triage mapping: a row whose cells the mapping refuses is listed as unread. */
export function csvCases(text: string, mapping: CsvMapping, ruleSets: readonly string[], defaultAsOf: string): BacklogCases {
  let rows: string[][];
  try {
    // Quotes relaxed as triage relaxes them, so a row reads here as it does in a triage run.
    rows = parseCsv(text, { relax_column_count: true, relax_quotes: true, skip_empty_lines: true, bom: true });
  } catch (error) {
    // A quote left open runs to the end of the text: nothing after it can be told apart, so the file is refused whole.
    if (error instanceof CsvError) return { cases: [], unread: [{ line: Number(error.lines ?? 0), problem: `not CSV: ${error.message}` }] };
    throw error;
  }
  const [headers, ...body] = rows;
  if (!headers) return { cases: [], unread: [] };
  // As triage: a header lacking a column the mapping names is refused whole, not read row by row with facts missing.
  const missing = missingColumns(mapping, headers);
  if (missing.length > 0)
    return { cases: [], unread: [{ line: 1, problem: `lacks the column(s) the mapping names: ${missing.map((m) => `"${m}"`).join(', ')}` }] };
  const convert = rowConverter(mapping, headers);
  const cases: ImpactCase[] = [];
  const unread: UnreadLine[] = [];
  body.forEach((row, index) => {
    const line = index + 2;
    const converted = convert(row);
    if (converted.issues.length > 0) {
      unread.push({ line, problem: converted.issues.map((issue) => issue.message).join('; ') });
      return;
    }
    for (const ruleSet of ruleSets) cases.push({ id: converted.id ?? `line ${line}`, ruleSet, asOf: defaultAsOf, facts: converted.facts });
  });
  return { cases, unread };
}
