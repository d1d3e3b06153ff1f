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
// export's codes into the vocabulary's values. An empty cell leaves the fact out, so the
// vocabulary's default applies, exactly as a left-out field in NDJSON does.

import { readFileSync } from 'node:fs';
import { calendarDate } from '../dates/calendar';
import { factPaths } from '../facts/schema';
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
    }
  }
  if (problems.length > 0) throw new MappingError(`${where} is not a usable CSV mapping:`, problems);
  return json as unknown as CsvMapping;
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

function converterFor(column: CsvColumn): Converter {
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
    default:
      return translate;
  }
}

/** A CSV row converted: the record's id (null when its cell is empty), its facts, and any cell refused. */
export interface ConvertedRow {
  id: string | null;
  facts: Record<string, unknown>;
  issues: Issue[];
}

/** The fact path of each mapped column, for naming the column behind a schema error's pointer. */
export function columnsByPointer(mapping: CsvMapping): Map<string, string> {
  return new Map(Object.entries(mapping.columns).map(([header, column]) => [`/${column.fact.split('.').join('/')}`, header]));
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
    convert: converterFor(column),
  }));
  return (row) => {
    const facts: Record<string, unknown> = {};
    const issues: Issue[] = [];
    for (const column of columns) {
      const cell = (row[column.index] ?? '').trim();
      if (cell === '') continue;
      let value: unknown;
      try {
        value = column.convert(cell);
      } catch (error) {
        if (!(error instanceof CellError)) throw error;
        issues.push({ pointer: column.pointer, message: `column "${column.header}": ${error.message}` });
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
