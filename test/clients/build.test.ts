// The client package builds as it would be handed to a tool's developers (npm run client:build: JavaScript and
// declarations from clients/typescript/src into its dist/, the files its package.json's main and types name), and the
// built JavaScript works on its own: it decides a segment allocation through a started service and throws a typed 401.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type * as Client from '../../clients/typescript/src';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { ROOT, shippedRules } from '../support';
import { TEST_SECRETS, testApp } from '../support/app';

const PACKAGE = path.join(ROOT, 'clients', 'typescript');

test('the package builds to JavaScript and declarations where its package.json points, and the built client decides a case', async () => {
  await promisify(execFile)(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(PACKAGE, 'tsconfig.json')], { cwd: ROOT });
  const manifest = JSON.parse(readFileSync(path.join(PACKAGE, 'package.json'), 'utf8')) as { main: string; types: string };
  for (const file of [manifest.main, manifest.types, 'dist/client.d.ts', 'dist/schema.d.ts'])
    expect([file, existsSync(path.join(PACKAGE, file))]).toEqual([file, true]);
  // The built JavaScript, not the sources: required as a tool would require the package.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the package's built entry point, by the path its manifest names
  const built = require(path.join(PACKAGE, manifest.main)) as typeof Client;
  const server = await testApp({ rules: shippedRules }).listen();
  try {
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = built.createPsClient({ baseUrl, apiKey: TEST_SECRETS.caseworker });
    const decision = await client.evaluate('segment-allocation', { asOf: '2025-06-02', facts: RULE_SET_MODULES['segment-allocation']!.example });
    expect([1, 2, 3]).toContain(decision.outcome.segment);
    await expect(built.createPsClient({ baseUrl, apiKey: 'not-a-key-of-this-service' }).ruleSets()).rejects.toBeInstanceOf(built.UnauthorizedError);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
