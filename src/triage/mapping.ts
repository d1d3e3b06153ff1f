// The CSV column mapping: how a team's export (its own headers, codes and date format) becomes CaseFacts.
//
// A mapping file is JSON that policy or operations staff write once per export format:
//
//   {
//     "description": "Weekly PS referral export from the team's case list",
//     "id": "Referral ID",
//     "columns": {
//       "Program":        { "fact": "program", "values": { "CLK": "centrelink", "CS": "child-support" } },
//       "Date received":  { "fact": "referral.receivedOn", "type": "date", "format": "dd/MM/yyyy" },
//       "Urgent?":        { "fact": "referral.urgent", "type": "boolean" },
//       "Incidents":      { "fact": "customer.incidents", "type": "json" }
//     }
//   }
//
// `id` names the column that holds the record's id. Each entry of `columns` maps a CSV header to a
// CaseFacts path (dotted, as in docs/facts.md). Types: "string" (the default), "number", "boolean"
// (true/false, yes/no, y/n, 1/0, any case), "date" (`format` "yyyy-MM-dd" by default, or
// "dd/MM/yyyy"), "json" (the cell holds JSON, e.g. a list of incidents). `values` translates an
// export's codes into the vocabulary's values; where the vocabulary lists its values (program,
// referral source, PS history…) a cell must be one of the codes, case as written, or one of those
// values, and any other is refused naming the column's codes. An empty cell leaves the fact out,
// so the vocabulary's default applies, exactly as a left-out field in NDJSON does. Refused cells
// and problems found in the facts a row became are reported by column (errors-file.ts).

import { readFileSync } from 'node:fs';
import { closest, distance } from 'fastest-levenshtein';
import { calendarDate } from '../dates/calendar';
import { caseFactsSchema, factPaths } from '../facts/schema';
import { pointerTokenName, REQUIRED_BY } from '../facts/validate';
import type { Issue } from '../errors';

export type CsvCellType = 'string' | 'number' | 'boolean' | 'date' | 'json';
export type CsvDateFormat = 'yyyy-MM-dd' | 'dd/MM/yyyy';

export interface CsvColumn {
  /** The CaseFacts path the cell fills, e.g. "referral.receivedOn". */
  fact: string;
  type?: CsvCellType;
  /** For type "date": how the export writes dates. */
  format?: CsvDateFormat;
  /** Export code → vocabulary value, e.g. { "CS": "child-support" }. */
  values?: Record<string, string>;
}

export interface CsvMapping {
  description?: string;
  /** The header of the column holding the record id. */
  id: string;
  /** CSV header → how its cells become a fact. */
  columns: Record<string, CsvColumn>;
}

// ---------------------------------------------------------------------------------------------
// Reading a mapping file, and turning one CSV row into CaseFacts with it.

const CELL_TYPES: readonly CsvCellType[] = ['string', 'number', 'boolean', 'date', 'json'];
const DATE_FORMATS: readonly CsvDateFormat[] = ['yyyy-MM-dd', 'dd/MM/yyyy'];

/** A mapping file that cannot be used: every problem, each naming the field at fault. Bad usage (exit 2). */
export class MappingError extends Error {
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(problems.length > 0 ? `${message}\n  ${problems.join('\n  ')}` : message);
    this.name = 'MappingError';
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Checks a parsed mapping, listing every problem; `where` names the file in messages. */
export function checkMapping(json: unknown, where = 'the mapping'): CsvMapping {
  const problems: string[] = [];
  if (!isObject(json)) throw new MappingError(`${where} must be a JSON object { "id", "columns" }`);
  const known = new Set(factPaths());
  for (const key of Object.keys(json))
    if (!['description', 'id', 'columns'].includes(key)) problems.push(`"${key}" is not a mapping field (fields: description, id, columns)`);
  if (json.description !== undefined && typeof json.description !== 'string') problems.push('"description" must be a string');
  if (typeof json.id !== 'string' || json.id === '') problems.push('"id" must name the CSV column that holds each record\'s id');
  if (!isObject(json.columns) || Object.keys(json.columns).length === 0)
    problems.push('"columns" must be an object from CSV header to { "fact", "type"?, "format"?, "values"? }');
  else {
    const facts = new Map<string, string>();
    for (const [header, column] of Object.entries(json.columns)) {
      const at = `columns["${header}"]`;
      if (!isObject(column)) {
        problems.push(`${at} must be an object { "fact", "type"?, "format"?, "values"? }`);
        continue;
      }
      for (const key of Object.keys(column))
        if (!['fact', 'type', 'format', 'values'].includes(key)) problems.push(`${at}.${key} is not a column field (fields: fact, type, format, values)`);
      if (typeof column.fact !== 'string') problems.push(`${at}.fact must be a CaseFacts path such as "referral.receivedOn"`);
      else if (!known.has(column.fact)) problems.push(`${at}.fact "${column.fact}" is not a CaseFacts fact (see the CaseFacts schema in /openapi.json)`);
      else if (facts.has(column.fact)) problems.push(`${at}.fact "${column.fact}" is already filled by column "${facts.get(column.fact)}"`);
      else facts.set(column.fact, header);
      if (column.type !== undefined && !CELL_TYPES.includes(column.type as CsvCellType))
        problems.push(`${at}.type ${JSON.stringify(column.type)} is not one of ${CELL_TYPES.join(', ')}`);
      if (column.format !== undefined) {
        if (column.type !== 'date') problems.push(`${at}.format applies only to "type": "date"`);
        else if (!DATE_FORMATS.includes(column.format as CsvDateFormat))
          problems.push(`${at}.format ${JSON.stringify(column.format)} is not one of ${DATE_FORMATS.join(', ')}`);
      }
      if (column.values !== undefined && (!isObject(column.values) || Object.values(column.values).some((v) => typeof v !== 'string')))
        problems.push(`${at}.values must be an object from export code to vocabulary value (strings)`);
      else if (column.values !== undefined && typeof column.fact === 'string') {
        // A code translated into a value the vocabulary does not have would refuse every row that uses it: say so now,
        // once, against the mapping, not once a row against the export.
        const allowed = vocabularyOf(column.fact);
        if (allowed)
          for (const [code, value] of Object.entries(column.values))
            if (!allowed.includes(value as string))
              problems.push(
                `${at}.values["${code}"] is ${JSON.stringify(value)}, which is not a value of ${column.fact} (its values: ${allowed.join(', ')})${meant(value as string, allowed)}`,
              );
      }
    }
  }
  if (problems.length > 0) throw new MappingError(`${where} is not a usable CSV mapping:`, problems);
  return json as unknown as CsvMapping;
}

/** `; did you mean "…"?` for a value that is nearly one of `values`, or nothing. */
function meant(value: string, values: readonly string[]): string {
  const likely = likelyCode(value, values);
  return likely === undefined ? '' : `; did you mean "${likely}"?`;
}

/** Reads and checks a mapping file; a MappingError names the file and every field at fault. */
export function loadMapping(file: string): CsvMapping {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new MappingError(`Cannot read the mapping file ${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new MappingError(`The mapping file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  return checkMapping(json, `The mapping file ${file}`);
}

/** The mapped headers the CSV lacks (the id column included): each one is a usage error. */
export function missingColumns(mapping: CsvMapping, headers: readonly string[]): string[] {
  const present = new Set(headers);
  return [mapping.id, ...Object.keys(mapping.columns)].filter((header) => !present.has(header));
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const AU_DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/;
const TRUE = new Set(['true', 'yes', 'y', '1']);
const FALSE = new Set(['false', 'no', 'n', '0']);

type Converter = (cell: string) => unknown;

/** Why a cell was refused; the row converter adds the column and the fact. */
class CellError extends Error {}

/** The values the vocabulary allows for a fact (its schema's `enum`), or undefined when it names none. */
function vocabularyOf(fact: string): readonly string[] | undefined {
  type Node = { properties?: Record<string, Node>; enum?: readonly unknown[] };
  let node: Node | undefined = caseFactsSchema;
  for (const key of fact.split('.')) node = node?.properties?.[key];
  return node?.enum?.every((v) => typeof v === 'string') ? node.enum : undefined;
}

/** A header as it reads inside a sentence: "Referral source" → "referral source"; "PS history" stays. */
const inSentence = (header: string): string => (/^[A-Z][a-z]/.test(header) ? `${header[0]!.toLowerCase()}${header.slice(1)}` : header);

/**
 * The code a refused cell was most likely meant to be: one it differs from only in case or surrounding spaces, or else
 * the closest by edit distance when that distance is small (a letter or two, a quarter of the word at most).
 */
export function likelyCode(cell: string, codes: readonly string[]): string | undefined {
  const folded = cell.trim().toLowerCase();
  const same = codes.find((code) => code.trim().toLowerCase() === folded);
  if (same !== undefined || codes.length === 0 || folded === '') return same;
  const lower = codes.map((code) => code.trim().toLowerCase());
  const near = closest(folded, lower);
  return distance(folded, near) <= Math.max(1, Math.floor(Math.min(folded.length, near.length) / 4)) ? codes[lower.indexOf(near)] : undefined;
}

function converterFor(header: string, column: CsvColumn): Converter {
  const values = column.values;
  const translate = values ? (cell: string) => (Object.prototype.hasOwnProperty.call(values, cell) ? (values[cell] as string) : cell) : (cell: string) => cell;
  switch (column.type ?? 'string') {
    case 'number':
      return (cell) => {
        const n = Number(translate(cell));
        if (!Number.isFinite(n)) throw new CellError(`"${cell}" is not a number`);
        return n;
      };
    case 'boolean':
      return (cell) => {
        const word = translate(cell).toLowerCase();
        if (TRUE.has(word)) return true;
        if (FALSE.has(word)) return false;
        throw new CellError(`"${cell}" is not a yes/no value (true/false, yes/no, y/n, 1/0)`);
      };
    case 'date': {
      const format = column.format ?? 'yyyy-MM-dd';
      const pattern = format === 'yyyy-MM-dd' ? ISO_DATE : AU_DATE;
      return (cell) => {
        const match = pattern.exec(translate(cell));
        const date = match && (format === 'yyyy-MM-dd' ? calendarDate(+match[1]!, +match[2]!, +match[3]!) : calendarDate(+match[3]!, +match[2]!, +match[1]!));
        if (!date) throw new CellError(`"${cell}" is not a real calendar date written ${format}`);
        return date;
      };
    }
    case 'json':
      return (cell) => {
        try {
          return JSON.parse(translate(cell)) as unknown;
        } catch (error) {
          throw new CellError(`"${cell.length > 60 ? `${cell.slice(0, 60)}…` : cell}" is not valid JSON (${(error as Error).message})`);
        }
      };
    default: {
      // A code column whose fact the vocabulary closes (an enum): a cell must be one of the export's codes (case and
      // all, as written in the mapping) or already one of the vocabulary's values; anything else is refused here, in
      // the export's terms, rather than by the schema in the vocabulary's.
      const vocabulary = values ? vocabularyOf(column.fact) : undefined;
      if (!values || !vocabulary) return translate;
      const codes = Object.keys(values);
      const known = new Set(vocabulary);
      const what = `${inSentence(header)} code`;
      return (cell) => {
        if (Object.prototype.hasOwnProperty.call(values, cell)) return values[cell];
        if (known.has(cell)) return cell;
        const meant = likelyCode(cell, codes);
        throw new CellError(
          `"${cell}" is not ${/^[aeiou]/i.test(what) ? 'an' : 'a'} ${what}; the export's codes are ${codes.join(', ')}${meant === undefined ? '' : `; did you mean "${meant}"?`}`,
        );
      };
    }
  }
}

/**
 * A problem placed in a CSV row, for the errors file of a CSV input: the column's header ('' for the row as a whole), its
 * cell exactly as the export gives it, and a message in the export's terms (the column, never the fact path).
 */
export interface CellIssue extends Issue {
  /** The column's header; '' for the row as a whole. */
  header: string;
  /** The cell exactly as the export gives it, spaces and all. */
  cell: string;
}

/** A CSV row converted: the record's id (null when its cell is empty), its facts, and any cell refused. */
export interface ConvertedRow {
  id: string | null;
  facts: Record<string, unknown>;
  issues: CellIssue[];
}

/** A place inside a cell's JSON, from the pointer's tokens past the column's fact: `entry 2, "date"` (lists count from 1). */
const placeIn = (tokens: readonly string[]): string => tokens.map((token) => (/^\d+$/.test(token) ? `entry ${Number(token) + 1}` : `"${token}"`)).join(', ');

/**
 * Places in a CSV row the problems found in the facts it became (the schema's, a rule set's requirement, a date the
 * rules cannot count from), given as JSON Pointers into those facts: the column whose fact the pointer falls in, that
 * cell as given, and the message said of the column, with the place inside a JSON cell as `entry 2`:
 * `column "Incidents", entry 2: "date" is required`.
 */
export function issueLocator(mapping: CsvMapping, headers: readonly string[]): (issue: Issue, row: readonly string[]) => CellIssue {
  const columns = new Map(
    Object.entries(mapping.columns).map(([header, column]) => [`/${column.fact.split('.').join('/')}`, { header, index: headers.indexOf(header) }]),
  );
  return (issue, row) => {
    let at = issue.pointer;
    while (at.length > 0 && !columns.has(at)) at = at.slice(0, at.lastIndexOf('/'));
    const column = columns.get(at);
    const required = REQUIRED_BY.exec(issue.message);
    if (!column) {
      const fact = issue.pointer.split('/').slice(1).map(pointerTokenName).join('.');
      const message = required
        ? `no column of the mapping gives ${required[1]}, which the ${required[2]} rule set requires`
        : `${fact === '' ? '' : `${fact}: `}${issue.message}`;
      return { pointer: issue.pointer, message, header: '', cell: '' };
    }
    const tokens = issue.pointer.slice(at.length).split('/').slice(1).map(pointerTokenName);
    const named = `column "${column.header}"`;
    const last = tokens[tokens.length - 1];
    let message: string;
    if (required && tokens.length === 0) message = `${named} is empty; the ${required[2]} rule set requires it`;
    else if (last !== undefined && issue.message.startsWith(`${last} is `)) {
      // "date is required", "colour is not part of the fact vocabulary": said of the entry the field is missing from or extra in.
      const place = placeIn(tokens.slice(0, -1));
      message = `${named}${place ? `, ${place}` : ''}: "${last}"${issue.message.slice(last.length)}`;
    } else message = `${named}${tokens.length > 0 ? `, ${placeIn(tokens)}` : ''}: ${issue.message}`;
    return { pointer: issue.pointer, message, header: column.header, cell: column.index < 0 ? '' : (row[column.index] ?? '') };
  };
}

/**
 * Compiles the mapping against one CSV header into a row converter: cell types resolved once, so
 * a row costs only its cells. Empty cells leave the fact out, as a left-out NDJSON field would.
 */
export function rowConverter(mapping: CsvMapping, headers: readonly string[]): (row: readonly string[]) => ConvertedRow {
  const idIndex = headers.indexOf(mapping.id);
  const columns = Object.entries(mapping.columns).map(([header, column]) => ({
    header,
    index: headers.indexOf(header),
    path: column.fact.split('.'),
    pointer: `/${column.fact.split('.').join('/')}`,
    convert: converterFor(header, column),
  }));
  return (row) => {
    const facts: Record<string, unknown> = {};
    const issues: CellIssue[] = [];
    for (const column of columns) {
      const given = row[column.index] ?? '';
      const cell = given.trim();
      if (cell === '') continue;
      let value: unknown;
      try {
        value = column.convert(cell);
      } catch (error) {
        if (!(error instanceof CellError)) throw error;
        issues.push({ pointer: column.pointer, message: `column "${column.header}": ${error.message}`, header: column.header, cell: given });
        continue;
      }
      let node = facts;
      for (let i = 0; i < column.path.length - 1; i += 1) {
        const key = column.path[i] as string;
        node = (node[key] ??= {}) as Record<string, unknown>;
      }
      node[column.path[column.path.length - 1] as string] = value;
    }
    const id = (row[idIndex] ?? '').trim();
    return { id: id === '' ? null : id, facts, issues };
  };
}
