// docs/facts.md is the CaseFacts schema written for people: the page on disk must be exactly what the schema gives,
// and the page must say what a caller needs of each fact (path, type, allowed values, default, bounds).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REGENERATE, vocabularyMarkdown, type VocabularyNode } from '../../src/facts/vocabulary-doc';
import { ROOT } from '../support';

const PAGE = path.join(ROOT, 'docs', 'facts.md');

/** The table row of one fact path, split into its cells: fact, type, allowed values, default, description. */
function rowOf(page: string, factPath: string): string[] {
  const line = page.split('\n').find((l) => l.startsWith(`| \`${factPath}\` |`));
  if (!line) throw new Error(`no row for ${factPath}`);
  return line
    .slice(2, -2)
    .split(/ \| /)
    .map((c) => c.trim());
}

test(`docs/facts.md is what src/facts/schema.ts gives (if not: ${REGENERATE})`, () => {
  const onDisk = readFileSync(PAGE, 'utf8');
  const generated = vocabularyMarkdown();
  // A plain message rather than a 100-line diff: the fix is always the same command.
  if (onDisk !== generated) throw new Error(`docs/facts.md differs from what src/facts/schema.ts generates: run \`${REGENERATE}\` and commit docs/facts.md`);
});

describe('the shipped vocabulary, as the page shows it', () => {
  const page = vocabularyMarkdown();

  test('a section per part of a case, and a row for every value, list item fields included', () => {
    expect(page.match(/^## .*$/gm)).toEqual(['## `program`', '## `referral`', '## `customer`', '## `case`', '## `sharing`']);
    expect(rowOf(page, 'customer.incidents[].setting')).toEqual([
      '`customer.incidents[].setting`',
      'one of, required',
      '`face-to-face`, `phone`, `online`, `written`',
      '',
      '',
    ]);
    expect(rowOf(page, 'referral.receivedOn')).toEqual(['`referral.receivedOn`', 'date', '', '', 'The day PS received the referral']);
  });

  test('each list with its bound and its default, empty', () => {
    expect(rowOf(page, 'customer.incidents').slice(1, 4)).toEqual(['list (items below), at most 600', '', '`[]`']);
    expect(rowOf(page, 'case.warnings').slice(1, 4)).toEqual(['list (items below), at most 100', '', '`[]`']);
  });

  test('a text default reads as JSON, apart from the allowed values', () => {
    expect(rowOf(page, 'case.ministerialOrOmbudsmanResponse').slice(2, 4)).toEqual(['`none`, `pending`, `received-and-understood`', '`"none"`']);
  });
});

describe('the page for any vocabulary', () => {
  const schema: VocabularyNode = {
    title: 'Tiny',
    description: 'Two facts.\nBounded.',
    type: 'object',
    properties: {
      visit: {
        type: 'object',
        description: 'One visit',
        properties: {
          notes: {
            type: 'array',
            maxItems: 1200,
            default: [],
            description: 'Notes | kept',
            items: { type: 'object', required: ['text'], properties: { text: { type: 'string', minLength: 1, maxLength: 80 } } },
          },
          tags: { type: 'array', items: { enum: ['a', 'b'] } },
        },
      },
    },
  };
  const page = vocabularyMarkdown(schema);

  test('says how to regenerate it, and that it is generated', () => {
    expect(page.split('\n')[0]).toContain(REGENERATE);
    expect(page).toContain('# The facts vocabulary (Tiny)');
  });

  test('keeps each cell on one line and escapes a | inside it', () => {
    expect(page).toContain('Two facts. Bounded.');
    expect(rowOf(page, 'visit.notes')).toEqual(['`visit.notes`', 'list (items below), at most 1,200', '', '`[]`', 'Notes \\| kept']);
    expect(rowOf(page, 'visit.notes[].text')).toEqual(['`visit.notes[].text`', 'text, 1–80 characters, required', '', '', '']);
    expect(rowOf(page, 'visit.tags')).toEqual(['`visit.tags`', 'list (one of)', '`a`, `b`', '', '']);
  });
});
