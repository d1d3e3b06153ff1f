// The TypeScript client's generated types are the served document's: clients/typescript/src/schema.ts on disk must be
// exactly what `npm run client:generate` writes from openApiDocument() now, as docs/facts.md is checked against its schema.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../support';

const REGENERATE = 'npm run client:generate';
const SCHEMA_FILE = path.join(ROOT, 'clients', 'typescript', 'src', 'schema.ts');

test(`clients/typescript/src/schema.ts is what the served document generates (if not: ${REGENERATE})`, () => {
  const onDisk = readFileSync(SCHEMA_FILE, 'utf8');
  // The generator in a Node process of its own (scripts/client-generate.ts says why), run by tsx as the npm script runs it.
  const generated = execFileSync(process.execPath, [require.resolve('tsx/cli'), path.join(ROOT, 'scripts', 'client-generate.ts'), '--stdout'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  // A plain message rather than a 4,000-line diff: the fix is always the same command.
  if (onDisk !== generated) throw new Error(`clients/typescript/src/schema.ts differs from what /openapi.json generates: run \`${REGENERATE}\` and commit it`);
});

test('a request field the service fills with a default is optional for the caller (defaultNonNullable: false)', () => {
  const schema = readFileSync(SCHEMA_FILE, 'utf8');
  // referral.urgent (default false) and customer.incidents (default []) may be left out; facts may not.
  expect(schema).toMatch(/^ {16}urgent\?: boolean;$/m);
  expect(schema).toMatch(/^ {16}incidents\?: \{$/m);
  expect(schema).toMatch(/^ {12}facts: components\["schemas"\]\["CaseFacts"\];$/m);
});
