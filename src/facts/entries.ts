// How an entry of each list in the fact vocabulary reads in a sentence ("a partial phone restriction from 2025-01-01"):
// the vocabulary's, not any rule set's, so a reason quoting a customer's restriction says it the same way whichever
// rule it backs. test/facts/entries.test.ts holds every list of the schema to a phrase, and each phrase to its fields.
import { caseFactsSchema } from './schema';

/**
 * One phrase per list, by fact path. `{field}` is the entry's value (an enumerated value with its hyphens read as
 * spaces: "face-to-face" as "face to face"; free text as given); `[ … ]` is said only when every field in it has a
 * value that is not false; `{field?}` says nothing but asks that the field be true. A phrase starting "a " before a
 * vowel reads "an ". A list of values (not records, such as the customer's needs) names each value `{value}`.
 */
export const ENTRY_PHRASES: Readonly<Record<string, string>> = Object.freeze({
  'customer.serviceRestrictions': 'a {level} {channel} restriction from {from}[ to {to}]',
  'customer.incidents': '{kind} ({setting}) on {date}[, a security incident{securityIncident?}]',
  'customer.complaints': 'a {stage} complaint about {topic} on {date}[, upheld{upheld?}]',
  'customer.scsActivity': 'an SCS Activity Summary entry on {date}',
  'customer.nonCompliance': 'a non-compliance entry on {date}',
  'customer.paymentArrangementDefaults': 'a payment arrangement default on {date}',
  'case.issues': 'issue {id} ({kind}, {status})[, mandatory{mandatory?}][, in {specialistProcess}]',
  'case.outstandingIntrays': 'an outstanding {kind} intray[, specialist{specialist?}]',
  'case.warnings': 'a {kind} warning on {date}',
  'case.msp.phoneAttempts': 'a phone attempt on {date}[, the customer contacted{contacted?}]',
  'customer.consents': 'consent {id} for {purpose}, {direction} {agency}, from {from} to {to}[, withdrawn on {withdrawnOn}]',
  'customer.urgentPaymentRequests': 'an urgent payment request on {date}',
  'customer.crisisPayments': 'a crisis payment on {date}',
  'customer.behaviours': 'the behaviour "{value}"',
  'customer.needs': 'a need for {value}',
});

type Entry = Readonly<Record<string, unknown>>;
export type EntryPhrase = (entry: Entry) => string;

interface ListNode {
  type?: string;
  enum?: readonly unknown[];
  items?: { properties?: Record<string, ListNode>; enum?: readonly unknown[] };
  properties?: Record<string, ListNode>;
}

/** The field a list of values (not records) names its entry by in a phrase. */
const VALUE = 'value';

/** Every list in the vocabulary, by fact path, with its items' fields. */
export function vocabularyLists(node: ListNode = caseFactsSchema, prefix = ''): Map<string, Record<string, ListNode>> {
  const lists = new Map<string, Record<string, ListNode>>();
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (child.type === 'array') lists.set(path, child.items?.properties ?? (child.items?.enum ? { [VALUE]: { enum: child.items.enum } } : {}));
    else if (child.properties) for (const [p, fields] of vocabularyLists(child, path)) lists.set(p, fields);
  }
  return lists;
}

/** The fields a phrase names, each with whether it is said (`{f}`) or only asked to be true (`{f?}`). */
export function phraseFields(phrase: string): string[] {
  return [...phrase.matchAll(/\{([A-Za-z]+)\??\}/g)].map((m) => m[1] as string);
}

type Piece = string | { field: string; spoken: boolean; enumerated: boolean };
interface Part {
  optional: boolean;
  pieces: Piece[];
}

function parse(phrase: string, fields: Record<string, ListNode>): Part[] {
  const parts: Part[] = [];
  for (const m of phrase.matchAll(/\[([^\]]*)\]|([^[]+)/g)) {
    const text = m[1] ?? m[2] ?? '';
    const pieces: Piece[] = [];
    let last = 0;
    for (const f of text.matchAll(/\{([A-Za-z]+)(\?)?\}/g)) {
      if ((f.index ?? 0) > last) pieces.push(text.slice(last, f.index));
      const field = f[1] as string;
      pieces.push({ field, spoken: f[2] === undefined, enumerated: fields[field]?.enum !== undefined });
      last = (f.index ?? 0) + f[0].length;
    }
    if (last < text.length) pieces.push(text.slice(last));
    parts.push({ optional: m[1] !== undefined, pieces });
  }
  return parts;
}

const said = (value: unknown, enumerated: boolean): string =>
  typeof value !== 'string' ? String(value) : enumerated ? value.replace(/-/g, ' ') : value.trim();

const VOWELS = 'aeiouAEIOU';

/** Whether every field of an optional part has a value that is not false. */
function given(pieces: readonly Piece[], entry: Entry): boolean {
  for (const piece of pieces) {
    if (typeof piece === 'string') continue;
    const value = entry[piece.field];
    if (value === undefined || value === null || value === false) return false;
  }
  return true;
}

const compiled = new Map<string, EntryPhrase>();

/** The phrase an entry of the list at `path` reads as; compiled once per list. A list without a phrase throws. */
export function entryPhrase(path: string): EntryPhrase {
  let phrase = compiled.get(path);
  if (phrase) return phrase;
  const template = ENTRY_PHRASES[path];
  const fields = vocabularyLists().get(path);
  if (template === undefined || fields === undefined) throw new Error(`the fact vocabulary has no phrase for the entries of ${path}`);
  const parts = parse(template, fields);
  // Only a phrase that opens "a {field}" can need "an": the rest are as written.
  const article = template.startsWith('a {');
  phrase = (item) => {
    // A list of values holds the values themselves: the phrase reads each as its {value}.
    const entry: Entry = item !== null && typeof item === 'object' ? item : { [VALUE]: item };
    let text = '';
    for (const { optional, pieces } of parts) {
      if (optional && !given(pieces, entry)) continue;
      for (const piece of pieces) text += typeof piece === 'string' ? piece : piece.spoken ? said(entry[piece.field], piece.enumerated) : '';
    }
    return article && VOWELS.includes(text[2] as string) ? `an${text.slice(1)}` : text;
  };
  compiled.set(path, phrase);
  return phrase;
}
