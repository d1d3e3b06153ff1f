// The errors file of a triage run (--errors): what it holds, in the input's own terms, and how its name must agree.
//
// Its format follows the input's, so whoever reads the input reads the errors the same way:
//
// - NDJSON input: NDJSON, one line per record refused, `{ "line", "id", "kind", "message", "errors": [{ "pointer",
//   "message" }] }`, each pointer a JSON Pointer into that input line (`/facts/customer/incidents/0/date`, `/id`, `/asOf`,
//   '' for the line as a whole).
// - CSV input (read through a mapping): CSV, with the header row `line,id,column,value,kind,message` written even when
//   nothing is refused, and one row per value refused: a record with two cells refused has two rows with the same line.
//   `column` is the export's header and `value` its cell exactly as the export gives it; both are empty for a problem of
//   the row as a whole (a wrong cell count, a row that is not CSV, no rule version in force). `message` says what is
//   wrong in the export's terms: its column, its codes, its date format (`column "Referral source": "WALK-IN" is not a
//   referral source code; the export's codes are ESC-CMPL, …`), and inside a JSON cell the entry
//   (`column "Incidents", entry 2: "date" is required`).
//
// In both, `line` is the record's input line (1-based; for CSV the header is line 1), `id` its id where one was read,
// and `kind` why it was refused (ERROR_KINDS in summary.ts). The run's summary counts records, once each, however many
// rows a record has here.
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import type { Issue } from '../errors';
import type { CellIssue } from './mapping';
import type { RecordFormat } from './protocol';
import type { ErrorKind } from './summary';

/** The errors file's columns for a CSV input. */
export const ERRORS_CSV_COLUMNS = ['line', 'id', 'column', 'value', 'kind', 'message'] as const;

/** The first line of a CSV input's errors file. */
export const errorsCsvHeader = (): string => stringify([[...ERRORS_CSV_COLUMNS]]);

/** An NDJSON input's record refused: one line, the issues' pointers into the input line. */
export function errorsNdjsonLine(line: number, id: unknown, kind: ErrorKind, message: string, issues: readonly Issue[]): string {
  const errors = issues.map((i) => ({ pointer: i.pointer, message: i.message }));
  return `{"line":${line},"id":${JSON.stringify(id ?? null)},"kind":"${kind}","message":${JSON.stringify(message)},"errors":${JSON.stringify(errors)}}\n`;
}

const isPlaced = (issue: Issue): issue is CellIssue => typeof (issue as Partial<CellIssue>).header === 'string';

/**
 * A CSV input's record refused: a row for each issue placed in a cell (mapping.ts's CellIssue), and one row with no
 * column for the rest, or for a record refused with no issue placed, under the record's message.
 */
export function errorsCsvRows(line: number, id: unknown, kind: ErrorKind, message: string, issues: readonly Issue[]): string {
  const shownId = typeof id === 'string' || typeof id === 'number' ? String(id) : '';
  const rows: string[][] = [];
  let unplaced = issues.length === 0;
  for (const issue of issues) {
    if (isPlaced(issue)) rows.push([String(line), shownId, issue.header, issue.cell, kind, issue.message]);
    else unplaced = true;
  }
  if (unplaced) rows.push([String(line), shownId, '', '', kind, message]);
  return stringify(rows);
}

/**
 * Why `--errors` cannot be the file named, or undefined: its extension says the other format than the input's, which
 * the errors file follows. Extensions that say neither are fine.
 */
export function errorsNameProblem(file: string, input: RecordFormat): string | undefined {
  const extension = path.extname(file).toLowerCase();
  const stem = file.slice(0, file.length - extension.length);
  if (input === 'ndjson' && extension === '.csv')
    return (
      `--errors ${file}: the input is NDJSON, so its errors file is NDJSON too (a line per record refused, with JSON ` +
      `Pointers into its input line); name it .ndjson, e.g. ${stem}.ndjson`
    );
  if (input === 'csv' && ['.ndjson', '.json', '.jsonl'].includes(extension))
    return (
      `--errors ${file}: the input is CSV, so its errors file is CSV too (a row per value refused: ` +
      `${ERRORS_CSV_COLUMNS.join(',')}); name it .csv, e.g. ${stem}.csv`
    );
  return undefined;
}
