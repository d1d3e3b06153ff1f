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
// CaseFacts path (dotted, as in DOMAIN.md). Types: "string" (the default), "number", "boolean"
// (true/false, yes/no, y/n, 1/0, any case), "date" (`format` "yyyy-MM-dd" by default, or
// "dd/MM/yyyy"), "json" (the cell holds JSON, e.g. a list of incidents). `values` translates an
// export's codes into the vocabulary's values. An empty cell leaves the fact out, so the
// vocabulary's default applies, exactly as a left-out field in NDJSON does.

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
