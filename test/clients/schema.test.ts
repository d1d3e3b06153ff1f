// The TypeScript client's generated types are the served document's: clients/typescript/src/schema.ts on disk must be
// exactly what `npm run client:generate` writes from openApiDocument() now, as docs/facts.md is checked against its schema.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, shippedRules } from '../support';
import { testApp } from '../support/app';

const REGENERATE = 'npm run client:generate';
const SCHEMA_FILE = path.join(ROOT, 'clients', 'typescript', 'src', 'schema.ts');

test(`clients/typescript/src/schema.ts is what the served document generates (if not: ${REGENERATE})`, async () => {
  const onDisk = readFileSync(SCHEMA_FILE, 'utf8');
  // Generated from the document a started service serves at /openapi.json, by the generator in a Node process of its own
  // (scripts/client-generate.ts says why; not execFileSync, which would stop this process answering it), run by tsx as
  // the npm script runs it.
  const server = await testApp({ rules: shippedRules }).listen();
  let generated: string;
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/openapi.json`;
    const script = path.join(ROOT, 'scripts', 'client-generate.ts');
    ({ stdout: generated } = await promisify(execFile)(process.execPath, [require.resolve('tsx/cli'), script, '--from', url, '--stdout'], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    }));
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
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
