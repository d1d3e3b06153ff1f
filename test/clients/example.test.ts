// The client's example (clients/typescript/examples/segment-allocation.ts) is what a tool developer copies first: it must
// compile under the repository's strict settings, a misspelt outcome field must not, and it must run against a service.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { TEST_SECRETS, testApp } from '../support/app';
import { ROOT, shippedRules } from '../support';

const EXAMPLE = path.join(ROOT, 'clients', 'typescript', 'examples', 'segment-allocation.ts');

/** The root tsconfig.json's compiler options, as `npm run typecheck` reads them. */
function rootOptions(): ts.CompilerOptions {
  const configFile = path.join(ROOT, 'tsconfig.json');
  const { config, error } = ts.readConfigFile(configFile, (file) => ts.sys.readFile(file));
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, ROOT, { noEmit: true }, configFile);
  if (parsed.errors.length > 0) throw new Error(parsed.errors.map((e) => ts.flattenDiagnosticMessageText(e.messageText, '\n')).join('\n'));
  return parsed.options;
}

/**
 * Every diagnostic of a program rooted at the example, as "file:line: message", with the example's text replaced by
 * `text` when given: the copy is served from memory at the example's own path, so its imports resolve as the example's.
 */
function diagnostics(text?: string): string[] {
  const options = rootOptions();
  const host = ts.createCompilerHost(options, true);
  if (text !== undefined) {
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (file, language, ...rest) =>
      path.resolve(file) === EXAMPLE ? ts.createSourceFile(file, text, language, true) : getSourceFile(file, language, ...rest);
  }
  const program = ts.createProgram({ rootNames: [EXAMPLE], options, host });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${path.relative(ROOT, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : '';
    return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

test('the example is about 30 lines and reads outcome.segment', () => {
  const text = readFileSync(EXAMPLE, 'utf8');
  expect(text.split('\n').length).toBeLessThanOrEqual(35);
  expect(text).toContain('decision.outcome.segment');
});

test('the example compiles under the root tsconfig, with no diagnostic', () => {
  expect(diagnostics()).toEqual([]);
});

// Decision, SummaryDecision and ShortDecision are a oneOf discriminated by ruleSet: evaluate's decision narrows to
// segment allocation's branch, whose outcome has no `segmnet`.
test('docs/api.md shows the example as it is', () => {
  expect(readFileSync(path.join(ROOT, 'docs', 'api.md'), 'utf8')).toContain(`\`\`\`ts\n${readFileSync(EXAMPLE, 'utf8')}\`\`\`\n`);
});

test('the example with outcome.segment misspelt outcome.segmnet does not compile, and the diagnostic names segmnet', () => {
  const misspelt = readFileSync(EXAMPLE, 'utf8').replace('decision.outcome.segment', 'decision.outcome.segmnet');
  expect(misspelt).toContain('outcome.segmnet');
  const found = diagnostics(misspelt);
  expect(found).toHaveLength(1);
  expect(found[0]).toMatch(/^clients\/typescript\/examples\/segment-allocation\.ts:\d+: .*'segmnet'/);
});

test('the example runs against a started service and prints the segment', async () => {
  const registry = shippedRules();
  const app = testApp({ rules: () => registry });
  const server = await app.listen();
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [require.resolve('tsx/cli'), EXAMPLE], {
      cwd: ROOT,
      env: { ...process.env, PS_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, PS_KEY: TEST_SECRETS.caseworker },
      timeout: 60_000,
    });
    expect(stdout).toMatch(/^segment [123]\nrequires approval (true|false)\n(- .+\n)+$/);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
