// ps-rules as a Unix tool: output piped into a reader that stops early (`| head`, or one gone already) ends the command quietly, exit 0.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FIXTURES_DIR, ROOT } from '../support';
import { ensureBuilt } from '../support/built';

test('ps-rules explain … | true: the reader gone before the first line is written, and still no stack trace and exit 0', () => {
  ensureBuilt();
  const fixture = JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'segment-allocation', '01-proactive-single-issue-segment-1.json'), 'utf8')) as {
    asOf: string;
    facts: unknown;
  };
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'ps-pipe-')), 'facts.json');
  writeFileSync(file, JSON.stringify({ asOf: fixture.asOf, facts: fixture.facts }));
  const cli = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
  // true exits at once, long before node has started: every write of the explanation meets a closed pipe (EPIPE).
  const run = spawnSync('bash', ['-o', 'pipefail', '-c', `node "${cli}" explain segment-allocation "${file}" | true`], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
});
