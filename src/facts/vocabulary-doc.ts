// docs/facts.md, the fact vocabulary for people, written from the CaseFacts schema so the page cannot drift from
// what the service accepts. Pure: it returns the page; `npm run docs:facts` (scripts/docs-facts.ts) writes it, and
// test/facts/vocabulary-doc.test.ts fails when the page on disk is not what the schema gives.
import { caseFactsSchema } from './schema';

/** The parts of JSON Schema the vocabulary uses. */
export interface VocabularyNode {
  type?: string;
  format?: string;
  enum?: readonly unknown[];
  default?: unknown;
  description?: string;
  title?: string;
  properties?: Record<string, VocabularyNode>;
  required?: readonly string[];
  items?: VocabularyNode;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
}

/** The command that writes the page, named in the page and in the test that finds it stale. */
export const REGENERATE = 'npm run docs:facts';

const INTRO = [
  'The facts a caller sends as `facts` in an evaluate request ([the API](api.md#the-request)), one table per part',
  'of the case. A fact\'s path is how a rule file names it (`{ "fact": "customer.zoneCaseManagement" }`) and, written',
  'as a JSON pointer, how a problem names it (`/facts/customer/zoneCaseManagement`); `[]` marks the fields of each',
  'item of a list. A field not in these tables is refused with a 400 naming it. A fact left out takes its default; a',
  'fact a rule set needs that has no default (its `requires`, shown by `GET /v1/rulesets/{name}` and on the rules',
  "page) must be given. Dates are `YYYY-MM-DD`, read in the `Australia/Sydney` zone relative to the request's `asOf`.",
  '',
  'The vocabulary may grow where the policy needs a fact it lacks; a rename or removal is a breaking change to every',
  'caseworker tool, so it needs a new API version.',
].join('\n');

/** Text for a table cell: one line, and a `|` that does not end the cell. */
const cell = (text: string): string => text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
const code = (value: unknown): string => `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;

function typeOf(node: VocabularyNode, required: boolean): string {
  let type: string;
  if (node.enum) type = 'one of';
  else if (node.type === 'array') {
    const item = node.items?.type === 'object' ? 'items below' : node.items ? typeOf(node.items, false) : 'any';
    type = `list (${item})${node.maxItems === undefined ? '' : `, at most ${node.maxItems.toLocaleString('en-AU')}`}`;
  } else if (node.type === 'string' && node.format === 'date') type = 'date';
  else if (node.type === 'string' && (node.minLength !== undefined || node.maxLength !== undefined)) {
    type = `text, ${node.minLength ?? 0}–${node.maxLength ?? '∞'} characters`;
  } else type = node.type ?? 'any';
  return required ? `${type}, required` : type;
}

/** A default as JSON (`"none"`, `false`, `[]`), so a text default reads apart from the words around it. */
function defaultOf(node: VocabularyNode): string {
  return node.default === undefined ? '' : `\`${JSON.stringify(node.default)}\``;
}

/** One table row per value, depth first; a list's item fields follow the list as `list[].field`. */
function rows(node: VocabularyNode, path: string, required: boolean): string[] {
  if (node.type === 'object' && node.properties) {
    const own = new Set(node.required ?? []);
    return Object.entries(node.properties).flatMap(([key, child]) => rows(child, path ? `${path}.${key}` : key, own.has(key)));
  }
  // A list of values allowed one by one (a list of enum items) shows them as a single value's would be.
  const allowed = node.enum ?? node.items?.enum;
  const row = `| ${code(path)} | ${typeOf(node, required)} | ${allowed ? allowed.map(code).join(', ') : ''} | ${defaultOf(node)} | ${cell(node.description ?? '')} |`;
  const items = node.type === 'array' && node.items?.type === 'object' ? rows(node.items, `${path}[]`, false) : [];
  return [row, ...items];
}

/**
 * The page for a vocabulary: its description, then a section per top-level fact or part of the case (`program`,
 * `referral`, `customer`, `case`), each a table of path, type, allowed values, default and description.
 */
export function vocabularyMarkdown(schema: VocabularyNode = caseFactsSchema): string {
  const sections = Object.entries(schema.properties ?? {}).map(([key, node]) => {
    const table = [
      '| fact | type | allowed values | default | description |',
      '|---|---|---|---|---|',
      ...rows(node, key, (schema.required ?? []).includes(key)),
    ];
    return [`## \`${key}\``, '', ...(node.type === 'object' && node.description ? [cell(node.description), ''] : []), ...table].join('\n');
  });
  return [
    `<!-- Generated from src/facts/schema.ts by \`${REGENERATE}\`: change the schema, then run it; do not edit this page. -->`,
    `# The facts vocabulary (${schema.title ?? 'facts'})`,
    '',
    INTRO,
    '',
    ...(schema.description ? [cell(schema.description), ''] : []),
    sections.join('\n\n'),
    '',
  ].join('\n');
}
