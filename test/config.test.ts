// The settings module: every variable read once, each bad value named with what it must be and what was given, and a worker's settings as its primary read them.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { keyRing, rulesDirectoryFromEnvironment, SettingsError, settingsFromEnvironment, settingsFromPrimary, type Environment } from '../src/config';
import { ROOT } from './support';
import { ensureBuilt, SERVER } from './support/built';

const SECRET = 'caseworker-secret-abcdefghijklmnop';
const KEYS = `cw1:caseworker:${SECRET}`;

/** The lines a SettingsError lists; the test fails if the settings are accepted, or fail some other way. */
function problems(env: Environment): readonly string[] {
  try {
    settingsFromEnvironment(env);
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  throw new Error('expected the settings to be refused');
}

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (): string => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ps-config-'));
  temporary.push(dir);
  return dir;
};

describe('defaults', () => {
  const limits = {
    ratePerMinute: 6000,
    requestTimeoutMs: 10_000,
    batch: { maxLines: 100_000, maxBytes: 256 * 1024 * 1024, maxMs: 300_000 },
    server: { requestMs: 360_000, headersMs: 10_000, idleMs: 30_000, keepAliveMs: 65_000, maxConnections: 1_000 },
  };

  test('with nothing set: the project rules, port 3000 on 127.0.0.1 with development keys, ./data, a worker per core, SQLite, digests only', () => {
    const { settings, generated } = settingsFromEnvironment({});
    expect(settings).toEqual({
      rulesDirectory: path.join(ROOT, 'rules'),
      host: '127.0.0.1',
      port: 3000,
      dataDir: path.resolve('data'),
      workers: availableParallelism(),
      keys: ['caseworker', 'policy', 'auditor'].map((role) => ({ id: `dev-${role}`, role, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })),
      keysGenerated: true,
      decisionLogUrl: undefined,
      keepFacts: false,
      limits,
    });
    expect(generated?.map((k) => k.id)).toEqual(['dev-caseworker', 'dev-policy', 'dev-auditor']);
  });

  test('a blank value counts as unset, as an env file leaves a variable it lists without a value', () => {
    const { settings } = settingsFromEnvironment({
      PORT: ' ',
      HOST: '',
      WORKERS: '',
      RULES_DIR: ' ',
      DATA_DIR: '',
      DECISION_LOG_URL: '',
      DECISION_LOG_FACTS: ' ',
      RATE_LIMIT_PER_MINUTE: ' ',
      REQUEST_TIMEOUT_MS: '',
      BATCH_MAX_LINES: ' ',
      IDLE_TIMEOUT_MS: '',
    });
    expect(settings).toEqual(
      expect.objectContaining({
        port: 3000,
        host: '127.0.0.1',
        workers: availableParallelism(),
        rulesDirectory: path.join(ROOT, 'rules'),
        decisionLogUrl: undefined,
        keepFacts: false,
        limits,
      }),
    );
  });

  test('values as given', () => {
    const rules = tempDir();
    const { settings } = settingsFromEnvironment({
      API_KEYS: KEYS,
      RULES_DIR: rules,
      PORT: '8080',
      HOST: '::1',
      DATA_DIR: 'var/decisions',
      WORKERS: '3',
      DECISION_LOG_URL: 'postgresql://ps@db.internal/decisions',
      DECISION_LOG_FACTS: 'keep',
      RATE_LIMIT_PER_MINUTE: '120',
      REQUEST_TIMEOUT_MS: '2500',
      BATCH_MAX_LINES: '1000',
      BATCH_MAX_BYTES: '1048576',
      BATCH_TIMEOUT_MS: '60000',
      HEADERS_TIMEOUT_MS: '2000',
      IDLE_TIMEOUT_MS: '45000',
      MAX_CONNECTIONS_PER_WORKER: '50',
    });
    expect(settings).toEqual({
      rulesDirectory: rules,
      host: '::1',
      port: 8080,
      dataDir: path.resolve('var/decisions'),
      workers: 3,
      keys: [{ id: 'cw1', role: 'caseworker', sha256: createHash('sha256').update(SECRET).digest('hex') }],
      keysGenerated: false,
      decisionLogUrl: 'postgresql://ps@db.internal/decisions',
      keepFacts: true,
      // Node's own request timeout follows the batch's: a minute above it.
      limits: {
        ratePerMinute: 120,
        requestTimeoutMs: 2500,
        batch: { maxLines: 1000, maxBytes: 1_048_576, maxMs: 60_000 },
        server: { ...limits.server, requestMs: 120_000, headersMs: 2000, idleMs: 45_000, maxConnections: 50 },
      },
    });
    expect(settingsFromEnvironment({ API_KEYS: KEYS, RATE_LIMIT_PER_MINUTE: '0', PORT: '0', DECISION_LOG_FACTS: 'digest' }).settings).toEqual(
      expect.objectContaining({ port: 0, keepFacts: false, limits: expect.objectContaining({ ratePerMinute: 0 }) }),
    );
  });

  test('the settings are frozen all the way down', () => {
    const { settings } = settingsFromEnvironment({ API_KEYS: KEYS });
    expect(() => Object.assign(settings, { port: 1 })).toThrow(TypeError);
    expect(() => Object.assign(settings.limits.batch, { maxLines: 1 })).toThrow(TypeError);
    expect(() => (settings.keys as unknown[]).push({})).toThrow(TypeError);
    expect(settings.port).toBe(3000);
  });

  test('variables the service does not know are no error', () => {
    expect(settingsFromEnvironment({ API_KEYS: KEYS, PORTS: 'many', WORKER: 'zero', HOSTNAME: 'not an address!', PATH: '/usr/bin' }).settings.port).toBe(3000);
  });
});

describe('HOST', () => {
  test('with development keys, 127.0.0.1: keys printed to a terminal are not for the network', () => {
    expect(settingsFromEnvironment({}).settings.host).toBe('127.0.0.1');
    expect(settingsFromEnvironment({ API_KEYS: ' ', API_KEYS_FILE: '' }).settings.host).toBe('127.0.0.1');
  });

  test('with API_KEYS or API_KEYS_FILE, every interface, as before HOST existed', () => {
    expect(settingsFromEnvironment({ API_KEYS: KEYS }).settings.host).toBeUndefined();
    const file = path.join(tempDir(), 'keys.txt');
    writeFileSync(file, `${KEYS}\n`);
    expect(settingsFromEnvironment({ API_KEYS_FILE: file }).settings.host).toBeUndefined();
  });

  test('as given, with keys of either kind', () => {
    expect(settingsFromEnvironment({ HOST: '0.0.0.0' }).settings.host).toBe('0.0.0.0');
    expect(settingsFromEnvironment({ API_KEYS: KEYS, HOST: '127.0.0.1' }).settings.host).toBe('127.0.0.1');
    expect(settingsFromEnvironment({ API_KEYS: KEYS, HOST: 'localhost' }).settings.host).toBe('localhost');
    expect(settingsFromEnvironment({ API_KEYS: KEYS, HOST: 'decisions.ps.internal' }).settings.host).toBe('decisions.ps.internal');
    expect(settingsFromEnvironment({ API_KEYS: KEYS, HOST: '::' }).settings.host).toBe('::');
  });
});

describe('each bad value is named, with what it must be and what was given', () => {
  test.each([
    ['PORT', 'http', 'a whole number from 0 to 65535'],
    ['PORT', '65536', 'a whole number from 0 to 65535'],
    ['PORT', '-1', 'a whole number from 0 to 65535'],
    ['PORT', '80.5', 'a whole number from 0 to 65535'],
    ['PORT', '3000abc', 'a whole number from 0 to 65535'],
    ['WORKERS', '0', 'a whole number of processes, 1 or more'],
    ['WORKERS', 'two', 'a whole number of processes, 1 or more'],
    ['HOST', 'my host', 'an IP address to bind'],
    ['HOST', 'http://localhost', 'an IP address to bind'],
    ['HOST', '300.1.1.1', 'an IP address to bind'],
    ['HOST', '-bad.example', 'an IP address to bind'],
    ['DECISION_LOG_FACTS', 'all', '"digest"'],
    ['RATE_LIMIT_PER_MINUTE', '-1', 'a whole number of requests a minute, 0 (no limit) or more'],
    ['RATE_LIMIT_PER_MINUTE', 'lots', 'a whole number of requests a minute'],
    ['RATE_LIMIT_PER_MINUTE', '1.5', 'a whole number of requests a minute'],
    ['RATE_LIMIT_PER_MINUTE', '1e3', 'a whole number of requests a minute'],
    ['REQUEST_TIMEOUT_MS', '0', 'a whole number of milliseconds, 1 or more'],
    ['REQUEST_TIMEOUT_MS', '10s', 'a whole number of milliseconds'],
    ['BATCH_MAX_LINES', '0', 'a whole number of lines, 1 or more'],
    ['BATCH_MAX_BYTES', '256MiB', 'a whole number of bytes, 1 or more'],
    ['BATCH_TIMEOUT_MS', '-5', 'a whole number of milliseconds'],
    ['HEADERS_TIMEOUT_MS', '0', 'a whole number of milliseconds'],
    ['IDLE_TIMEOUT_MS', '30 s', 'a whole number of milliseconds'],
    ['MAX_CONNECTIONS_PER_WORKER', '0', 'a whole number of connections, 1 or more'],
  ])('%s=%s', (name, value, mustBe) => {
    const found = problems({ API_KEYS: KEYS, [name]: value });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(new RegExp(`^${name} must be `));
    expect(found[0]).toContain(mustBe);
    expect(found[0]!.endsWith(`(got "${value}").`)).toBe(true);
  });

  test('RULES_DIR that is not a folder', () => {
    const missing = path.join(tempDir(), 'no-such-rules');
    expect(problems({ API_KEYS: KEYS, RULES_DIR: missing })).toEqual([`RULES_DIR must be a folder of rule files (got "${missing}").`]);
    const file = path.join(tempDir(), 'rules.json');
    writeFileSync(file, '{}');
    expect(problems({ API_KEYS: KEYS, RULES_DIR: file })).toEqual([`RULES_DIR must be a folder of rule files (got "${file}").`]);
  });

  test('DECISION_LOG_URL that is not PostgreSQL, without repeating the URL: it may hold a password', () => {
    const [found] = problems({ API_KEYS: KEYS, DECISION_LOG_URL: 'mysql://ps:hunter2-password@db/decisions' });
    expect(found).toMatch(/^DECISION_LOG_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(found).toContain('a mysql: URL');
    expect(found).not.toContain('hunter2');
    expect(problems({ API_KEYS: KEYS, DECISION_LOG_URL: 'db.internal/decisions' })[0]).toContain('a value with no scheme');
  });

  test('API_KEYS and API_KEYS_FILE, naming the variable or the file line and never the secret', () => {
    const [bad] = problems({ API_KEYS: `cw1:${SECRET}:caseworker` });
    expect(bad).toMatch(/^API_KEYS entry 1 \(id "cw1"\): the role must be one of caseworker, policy, auditor\.$/);
    expect(bad).not.toContain(SECRET);
    expect(problems({ API_KEYS: ' , ,' })).toEqual(['No API keys are configured: API_KEYS holds no keys.']);
    const file = path.join(tempDir(), 'keys.txt');
    writeFileSync(file, `# the team's keys\ncw1:caseworker:short\n`);
    expect(problems({ API_KEYS_FILE: file })).toEqual([
      `API_KEYS_FILE: ${file} line 2 (id "cw1"): the secret is shorter than 24 characters; bearer secrets must resist guessing.`,
    ]);
    expect(problems({ API_KEYS_FILE: '/nonexistent/keys.txt' })[0]).toMatch(/^API_KEYS_FILE \/nonexistent\/keys\.txt could not be read: ENOENT/);
  });

  test('limits that contradict each other, named with both values', () => {
    expect(problems({ API_KEYS: KEYS, IDLE_TIMEOUT_MS: '10000' })).toEqual([
      'IDLE_TIMEOUT_MS (10000) must be more than REQUEST_TIMEOUT_MS (10000), so that a request that takes too long is answered 503 before its connection is cut as idle.',
    ]);
    expect(problems({ API_KEYS: KEYS, REQUEST_TIMEOUT_MS: '60000' })[0]).toMatch(/^IDLE_TIMEOUT_MS \(30000\) must be more than REQUEST_TIMEOUT_MS \(60000\)/);
    expect(problems({ API_KEYS: KEYS, BATCH_TIMEOUT_MS: '1000', HEADERS_TIMEOUT_MS: '61000' })[0]).toMatch(
      /^HEADERS_TIMEOUT_MS \(61000\) must be less than BATCH_TIMEOUT_MS \(1000\) and a minute/,
    );
    // A value already refused is not compared as well: one message for one mistake.
    expect(problems({ API_KEYS: KEYS, REQUEST_TIMEOUT_MS: 'soon', IDLE_TIMEOUT_MS: '5' })).toEqual([
      'REQUEST_TIMEOUT_MS must be a whole number of milliseconds, 1 or more (got "soon").',
    ]);
  });
});

test('several bad values: one message each, all together', () => {
  const found = problems({
    PORT: 'eighty',
    WORKERS: '0',
    HOST: 'my laptop',
    API_KEYS: 'nonsense',
    DECISION_LOG_FACTS: 'everything',
    RATE_LIMIT_PER_MINUTE: '-1',
    BATCH_MAX_LINES: 'all',
  });
  expect(found.map((p) => p.split(' ')[0])).toEqual(['PORT', 'WORKERS', 'API_KEYS', 'HOST', 'DECISION_LOG_FACTS', 'RATE_LIMIT_PER_MINUTE', 'BATCH_MAX_LINES']);
  const error = new SettingsError(found);
  expect(error.message.split('\n')).toEqual(found);
});

describe('a cluster worker', () => {
  test("has the primary's settings as they came over the IPC channel (JSON), frozen, and accepts the primary's development keys", () => {
    const { settings, generated } = settingsFromEnvironment({ PORT: '0', WORKERS: '2', RATE_LIMIT_PER_MINUTE: '90' });
    const sent = JSON.stringify(settings);
    // Digests travel, secrets do not: the primary alone printed them.
    for (const key of generated ?? []) expect(sent).not.toContain(key.secret);
    const received = settingsFromPrimary(JSON.parse(sent));
    expect(received).toEqual(settings);
    expect(Object.isFrozen(received) && Object.isFrozen(received.limits.server)).toBe(true);
    const ring = keyRing(received);
    expect(generated).toHaveLength(3);
    for (const key of generated ?? []) expect(ring.authenticate(`Bearer ${key.secret}`)).toEqual({ id: key.id, role: key.role });
    expect(ring.authenticate('Bearer someone-else-entirely-0123456789')).toBeUndefined();
  });

  test('refuses a message that is not settings', () => {
    expect(() => settingsFromPrimary({ kind: 'rules' })).toThrow('the settings the cluster primary sent are not settings');
    expect(() => settingsFromPrimary(null)).toThrow('not settings');
  });
});

test('ps-rules: RULES_DIR, else the project rules/; a missing folder is for the loader to report, as with --rules', () => {
  expect(rulesDirectoryFromEnvironment({})).toBe(path.join(ROOT, 'rules'));
  expect(rulesDirectoryFromEnvironment({ RULES_DIR: ' ' })).toBe(path.join(ROOT, 'rules'));
  expect(rulesDirectoryFromEnvironment({ RULES_DIR: 'policy/rules' })).toBe(path.resolve('policy/rules'));
});

test('the built service refuses to start on bad settings: every one named on stderr, exit 1, no stack trace', () => {
  ensureBuilt();
  const dataDir = tempDir();
  const env = { PATH: process.env.PATH, PORT: '99999', WORKERS: 'many', HOST: 'every interface', DATA_DIR: dataDir };
  const run = spawnSync(process.execPath, [SERVER], { env, encoding: 'utf8', timeout: 30_000 });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain("The service's settings are wrong; not starting:");
  expect(run.stderr).toContain('  PORT must be a whole number from 0 to 65535 (0: any free port) (got "99999").');
  expect(run.stderr).toContain('  WORKERS must be a whole number of processes, 1 or more (got "many").');
  expect(run.stderr).toContain('  HOST must be an IP address to bind');
  expect(`${run.stderr}${run.stdout}`).not.toMatch(/\n\s+at /);
  // And in the JSON log, for the operator's tools.
  const fatal = run.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { level: number; msg: string; problems?: string[] })
    .find((l) => l.level === 60);
  expect(fatal?.msg).toBe('3 settings are wrong; not starting');
  expect(fatal?.problems).toHaveLength(3);
  // Nothing was started: no development keys printed, no decision log created.
  expect(run.stderr).not.toContain('Development API keys');
  expect(readdirSync(dataDir)).toEqual([]);
}, 60_000);
