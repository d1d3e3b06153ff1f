// The OpenAPI document the service serves, linted by Redocly CLI as a client generator's author would lint it: every
// rule of its recommended-strict set (each warning an error), but those redocly.yaml turns off, each with its reason.
// Run by `npm run lint`, so by `npm test` and CI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openApiDocument } from '../src/api/openapi';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-openapi-'));
try {
  const file = path.join(dir, 'openapi.json');
  writeFileSync(file, `${JSON.stringify(openApiDocument(), null, 2)}\n`);
  const cli = require.resolve('@redocly/cli/bin/cli.js');
  const config = path.join(__dirname, '..', 'redocly.yaml');
  // No telemetry and no update check: CI has no network, and the lint must not depend on one.
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
  const lint = spawnSync(process.execPath, [cli, 'lint', file, '--config', config, '--format', 'codeframe'], { stdio: 'inherit', env });
  process.exitCode = lint.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
