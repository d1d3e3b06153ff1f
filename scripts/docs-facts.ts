// npm run docs:facts: writes docs/facts.md from the CaseFacts schema (src/facts/vocabulary-doc.ts builds the page).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { vocabularyMarkdown } from '../src/facts/vocabulary-doc';

const page = path.join(__dirname, '..', 'docs', 'facts.md');
writeFileSync(page, vocabularyMarkdown());
process.stdout.write(`wrote ${path.relative(process.cwd(), page)}\n`);
