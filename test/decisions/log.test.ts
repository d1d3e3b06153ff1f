// The decision log: one contract, kept the same by the SQLite file and a real PostgreSQL server; what each store adds
// (several processes on one SQLite file, a killed writer, PostgreSQL's session settings); and the facts digest.
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { Client } from 'pg';
import ts from 'typescript';
import { decisionId } from '../../src/decisions/decision-id';
import { canonicalJson, factsDigest, factsMatch } from '../../src/decisions/facts-digest';
import { ColumnRecord, recordColumns, type ArchivedVersion, type DecisionLog, type DecisionRecord } from '../../src/decisions/log';
import { openDecisionLog } from '../../src/decisions/open';
import { PostgresDecisionLog } from '../../src/decisions/postgres';
import { SqliteDecisionLog, sqlitePragmas } from '../../src/decisions/sqlite';
import { checkCaseFacts } from '../../src/facts/validate';
import { ROOT } from '../support';
import { placesIn, replacedAt, validFacts } from '../api/fuzz-arbitraries';
import { startPostgres, type TestPostgres } from '../support/postgres';

const folders: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ps-decision-log-'));
  folders.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

// One server for the file, started by the first suite that needs it.
let server: Promise<TestPostgres> | undefined;
const postgres = () => (server ??= startPostgres());
afterAll(async () => {
  if (server) await (await server).stop();
});
let databases = 0;

function decision(overrides: Partial<DecisionRecord> = {}): DecisionRecord {
  const facts = { person: { postcode: '2600', dateOfBirth: '1970-01-31' }, weeksUnemployed: 27, flags: ['homeless', 'exOffender'] };
  return {
    decisionId: randomUUID(),
    decidedAt: '2025-03-04T05:06:07.089Z',
    keyId: 'caseworker-tool',
    ruleSet: 'segment-allocation',
    version: 'sha256:3f1c0a',
    asOf: '2025-03-04',
    evaluator: 'compiled',
    outcome: {
      segment: 'B',
      eligible: true,
      // Values JSON or jsonb could plausibly bend: float digits, a big exponent, the smallest double, text escapes.
      score: 0.1 + 0.2,
      big: 1e21,
      tiny: 5e-324,
      negative: -7,
      reason: 'Ngā mihi — “quoted” \\ back\\slash\nnew line \t tab 🎉',
      nested: { list: [1, 'two', null, { z: 1, a: [] }], empty: {}, no: false },
    },
    fired: ['long-term-unemployed', 'homeless', 'segment-b'],
    factsDigest: factsDigest(facts),
    facts: null,
    summary: { holdsUntil: '2025-09-01' },
    ...overrides,
  };
}

/** The decisions table's columns at schema 1, in order. */
const COLUMNS_1 = ['decision_id', 'decided_at', 'key_id', 'rule_set', 'version', 'as_of', 'evaluator', 'outcome', 'fired', 'facts_digest', 'facts'];

/** The SQLite schema as the service wrote it at version 1 (sqlite.ts SCHEMA before the summary column), kept as it was. */
const SCHEMA_1 = `
CREATE TABLE IF NOT EXISTS decisions (
  decision_id  TEXT NOT NULL PRIMARY KEY,
  decided_at   TEXT NOT NULL,
  key_id       TEXT NOT NULL,
  rule_set     TEXT NOT NULL,
  version      TEXT NOT NULL,
  as_of        TEXT NOT NULL,
  evaluator    TEXT NOT NULL CHECK (evaluator IN ('compiled', 'reference')),
  outcome      TEXT NOT NULL,
  fired        TEXT NOT NULL,
  facts_digest TEXT NOT NULL,
  facts        TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS rule_versions (
  version       TEXT NOT NULL PRIMARY KEY,
  rule_set      TEXT NOT NULL,
  file          TEXT NOT NULL,
  rule_text     TEXT NOT NULL,
  calendar_text TEXT NOT NULL,
  archived_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
`;

/** The PostgreSQL schema as the service wrote it at version 1 (postgres.ts SCHEMA before the summary column), kept as it was. */
const POSTGRES_SCHEMA_1 = `
CREATE TABLE IF NOT EXISTS decisions (
  decision_id  text        NOT NULL PRIMARY KEY,
  decided_at   timestamptz NOT NULL,
  key_id       text        NOT NULL,
  rule_set     text        NOT NULL,
  version      text        NOT NULL,
  as_of        date        NOT NULL,
  evaluator    text        NOT NULL CHECK (evaluator IN ('compiled', 'reference')),
  outcome      jsonb       NOT NULL,
  fired        jsonb       NOT NULL,
  facts_digest text        NOT NULL,
  facts        jsonb
);
CREATE TABLE IF NOT EXISTS rule_versions (
  version       text        NOT NULL PRIMARY KEY,
  rule_set      text        NOT NULL,
  file          text        NOT NULL,
  rule_text     text        NOT NULL,
  calendar_text text        NOT NULL,
  archived_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS decision_log_schema (
  version integer NOT NULL
);
`;

const VERSION: ArchivedVersion = {
  version: 'sha256:3f1c0a',
  ruleSet: 'segment-allocation',
  file: 'segment-allocation.json',
  ruleText: '{\n  "name": "segment-allocation",\n  "rules": []\n}\n',
  calendarText: 'date,name\n2025-01-01,New Year’s Day\n',
};

/** A log, and a way to take its store away from under it. */
interface Breakable {
  log: DecisionLog;
  breakIt: () => Promise<void>;
}

interface Store {
  name: 'SQLite' | 'PostgreSQL';
  /** A new, empty log (SQLite's opens at once, PostgreSQL's once it has connected). */
  open: () => DecisionLog | Promise<DecisionLog>;
  /** A new log that can be broken. */
  breakable: () => Breakable | Promise<Breakable>;
}

const sqlite: Store = {
  name: 'SQLite',
  open: () => new SqliteDecisionLog({ dataDir: tempDir() }),
  breakable: () => {
    const log = new SqliteDecisionLog({ dataDir: tempDir() });
    return { log, breakIt: () => log.close() };
  },
};

const postgresql: Store = {
  name: 'PostgreSQL',
  open: async () => PostgresDecisionLog.open(await (await postgres()).createDatabase(`log_${++databases}`)),
  // A server of its own: this one is stopped.
  breakable: async () => {
    const own = await startPostgres('broken');
    const log = await PostgresDecisionLog.open(own.url);
    return { log, breakIt: () => own.stop() };
  },
};

describe.each([sqlite, postgresql])('the $name decision log', (store) => {
  let log: DecisionLog;
  beforeAll(async () => {
    log = await store.open();
  });
  afterAll(() => log?.close());

  it('gives back every field of a record exactly as recorded, facts absent or kept', async () => {
    const withoutFacts = decision();
    const withFacts = decision({
      evaluator: 'reference',
      facts: { person: { postcode: '2600', dateOfBirth: '1970-01-31' }, income: 1234.56, nothing: null, list: [3, 1, 2] },
    });
    await log.record([withoutFacts]);
    await log.record([withFacts]);

    expect(await log.find(withoutFacts.decisionId)).toStrictEqual(withoutFacts);
    expect(await log.find(withFacts.decisionId)).toStrictEqual(withFacts);
    expect((await log.find(withFacts.decisionId))?.summary).toStrictEqual({ holdsUntil: '2025-09-01' });
    const found = await log.find(withFacts.decisionId);
    expect(found?.decidedAt).toBe('2025-03-04T05:06:07.089Z');
    expect(found?.asOf).toBe('2025-03-04');
    expect(found?.fired).toEqual(['long-term-unemployed', 'homeless', 'segment-b']);
    expect(
      factsMatch(found!.factsDigest, { flags: ['homeless', 'exOffender'], weeksUnemployed: 27, person: { dateOfBirth: '1970-01-31', postcode: '2600' } }),
    ).toBe(true);
  });

  it("keeps the summary's holdsUntil, a date or null, and no summary at all (an answer given without one) as null", async () => {
    const records = [decision(), decision({ summary: { holdsUntil: null } }), decision({ summary: null })];
    await log.record(records);
    for (const r of records) expect(await log.find(r.decisionId)).toStrictEqual(r);
    expect((await Promise.all(records.map((r) => log.find(r.decisionId)))).map((r) => r?.summary)).toStrictEqual([
      { holdsUntil: '2025-09-01' },
      { holdsUntil: null },
      null,
    ]);
  });

  it('keeps instants whose milliseconds or time zone a careless round trip would change', async () => {
    const instants = ['1999-12-31T23:59:59.999Z', '2024-02-29T00:00:00.000Z', '2025-06-30T14:00:00.001Z'];
    const records = instants.map((decidedAt) => decision({ decidedAt, asOf: decidedAt.slice(0, 10) }));
    await log.record(records);
    for (const r of records) expect(await log.find(r.decisionId)).toStrictEqual(r);
  });

  // A group as one request commits it, and as a batch does (hundreds at a time).
  it.each([[25], [64], [65], [200]])('commits %i records given in one call, all of them, each exactly', async (count) => {
    const records = Array.from({ length: count }, (_, i) =>
      decision({ keyId: `batch-${count}-${i}`, fired: [`rule-${i}`], facts: i % 3 === 0 ? { i } : null }),
    );
    await log.record(records);
    const found = await Promise.all(records.map((r) => log.find(r.decisionId)));
    expect(found).toStrictEqual(records);
  });

  it("writes a record kept as its columns (a batch's decider thread makes them) as it writes any record", async () => {
    const records = [decision(), decision({ facts: { kept: ['facts', 1, null] }, evaluator: 'reference', summary: null })];
    await log.record(records.map((r) => new ColumnRecord(recordColumns(r))));
    for (const r of records) expect(await log.find(r.decisionId)).toStrictEqual(r);
  });

  it('resolves an empty call without writing anything', async () => {
    await expect(log.record([])).resolves.toBeUndefined();
  });

  it("gives a rule set's most recent kept facts, newest first, leaving out decisions without facts and other rule sets'", async () => {
    const ruleSet = `recent-${store.name}`;
    // Ids made one after another, as the service makes them: they begin with their time, so their order is the log's.
    const start = Date.now();
    const made = Array.from({ length: 5 }, (_, i) =>
      decision({ decisionId: decisionId(start + i), ruleSet, asOf: `2025-06-0${i + 1}`, facts: i === 2 ? null : { n: i, nested: { list: [i] } } }),
    );
    await log.record([...made, decision({ decisionId: decisionId(start + 5), ruleSet: `${ruleSet}-other`, facts: { n: 9 } })]);
    expect(await log.recentFacts(ruleSet, 3)).toStrictEqual([
      { decisionId: made[4]!.decisionId, asOf: '2025-06-05', facts: { n: 4, nested: { list: [4] } } },
      { decisionId: made[3]!.decisionId, asOf: '2025-06-04', facts: { n: 3, nested: { list: [3] } } },
      { decisionId: made[1]!.decisionId, asOf: '2025-06-02', facts: { n: 1, nested: { list: [1] } } },
    ]);
    expect(await log.recentFacts('no-such-rule-set', 10)).toEqual([]);
  });

  it('finds nothing for an unknown decision id', async () => {
    expect(await log.find(randomUUID())).toBeUndefined();
    expect(await log.find('not a uuid at all')).toBeUndefined();
  });

  it('archives a rule version once, however often asked, and gives back its texts', async () => {
    expect(await log.findVersion(VERSION.version)).toBeUndefined();
    await log.archive(VERSION);
    await log.archive(VERSION);
    // The first archived texts stay: a version's hash names its texts, so a second archive can only repeat them.
    await log.archive({ ...VERSION, ruleText: 'something else' });
    expect(await log.findVersion(VERSION.version)).toStrictEqual(VERSION);
    expect(await log.findVersion('sha256:unknown')).toBeUndefined();
  });

  it('answers ping', async () => {
    await expect(log.ping()).resolves.toBeUndefined();
  });

  it('writes none of a batch when one record in it is refused (a decision id already recorded)', async () => {
    const first = decision();
    await log.record([first]);
    const batch = [decision(), decision(), decision({ decisionId: first.decisionId, keyId: 'impostor' })];
    await expect(log.record(batch)).rejects.toThrow();
    for (const r of batch.slice(0, 2)) expect(await log.find(r.decisionId)).toBeUndefined();
    expect(await log.find(first.decisionId)).toStrictEqual(first);
  });

  it('writes none of a large batch when its last record is refused', async () => {
    const first = decision();
    await log.record([first]);
    const batch = [...Array.from({ length: 150 }, () => decision()), decision({ decisionId: first.decisionId, keyId: 'impostor' })];
    await expect(log.record(batch)).rejects.toThrow();
    expect((await Promise.all(batch.slice(0, 150).map((r) => log.find(r.decisionId)))).filter(Boolean)).toEqual([]);
    expect(await log.find(first.decisionId)).toStrictEqual(first);
  });

  it('writes none of a batch that repeats a decision id within itself', async () => {
    const a = decision();
    const b = decision();
    await expect(log.record([a, b, { ...a }])).rejects.toThrow();
    expect(await log.find(a.decisionId)).toBeUndefined();
    expect(await log.find(b.decisionId)).toBeUndefined();
  });

  it('rejects, never throws, a record it cannot write, and writes none of its batch', async () => {
    const good = decision();
    const unwritable = decision({ outcome: { amount: 10n } });
    let pending: Promise<void> | undefined;
    expect(() => {
      pending = log.record([good, unwritable]);
    }).not.toThrow();
    await expect(pending).rejects.toThrow();
    expect(await log.find(good.decisionId)).toBeUndefined();
  });

  it('refuses instants and dates in forms it could not give back exactly', async () => {
    const noMillis = decision({ decidedAt: '2025-03-04T05:06:07Z' });
    const offset = decision({ decidedAt: '2025-03-04T15:06:07.089+10:00' });
    const slashDate = decision({ asOf: '04/03/2025' });
    for (const r of [noMillis, offset, slashDate]) {
      await expect(log.record([r])).rejects.toThrow(/decidedAt|asOf/);
      expect(await log.find(r.decisionId)).toBeUndefined();
    }
  });

  it('does not show a password in its location', async () => {
    if (log.kind === 'sqlite') {
      expect(log.location).toMatch(/decisions\.sqlite$/);
      return;
    }
    // The test server trusts loopback connections, so any password opens it.
    const url = (await postgres()).url.replace('postgres@', 'postgres:s3cret-word@');
    const secret = await PostgresDecisionLog.open(`${url}?password=other-s3cret`);
    try {
      await secret.ping();
      expect(secret.location).toBe(`postgres://127.0.0.1:${(await postgres()).port}/ps_decisions`);
      expect(secret.location).not.toMatch(/s3cret/);
    } finally {
      await secret.close();
    }
  });

  it('rejects, never throws and never crashes, when its store goes away', async () => {
    const { log: doomed, breakIt } = await store.breakable();
    try {
      await doomed.record([decision()]);
      await doomed.ping();
      await breakIt();
      let pending: Promise<void> | undefined;
      expect(() => {
        pending = doomed.record([decision()]);
      }).not.toThrow();
      await expect(pending).rejects.toThrow();
      await expect(doomed.ping()).rejects.toThrow();
      await expect(doomed.find(randomUUID())).rejects.toThrow();
    } finally {
      await doomed.close().catch(() => undefined);
    }
  });
});

describe('the SQLite decision log, one file shared by several writers', () => {
  /** sqlite.ts as plain JavaScript, for child processes (ts-jest compiles only inside jest). */
  function compiledModule(): string {
    const dir = tempDir();
    // The store, the record helpers it shares with the PostgreSQL store, and its check that its files are the ones opened.
    for (const name of ['sqlite', 'log', 'opened-files']) {
      const source = readFileSync(path.join(ROOT, 'src', 'decisions', `${name}.ts`), 'utf8');
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      });
      writeFileSync(path.join(dir, `${name}.js`), outputText);
    }
    // The child: waits for a common start time (so the writers overlap), records one decision per call, and prints
    // each decision id once record() has resolved.
    writeFileSync(
      path.join(dir, 'writer.js'),
      `const { randomUUID } = require('node:crypto');
const { SqliteDecisionLog } = require('./sqlite.js');
const [dataDir, keyId, count, startAt] = process.argv.slice(2);
const log = new SqliteDecisionLog({ dataDir });
while (Date.now() < Number(startAt));
(async () => {
  for (let i = 0; i < Number(count); i++) {
    const decisionId = randomUUID();
    await log.record([{ decisionId, decidedAt: new Date().toISOString(), keyId, ruleSet: 'segment-allocation', version: 'v1', asOf: '2025-03-04',
      evaluator: 'compiled', outcome: { i }, fired: [], factsDigest: 'sha256:x', facts: null, summary: null }]);
    process.stdout.write(decisionId + '\\n');
  }
  await log.close();
})();
`,
    );
    return path.join(dir, 'writer.js');
  }

  function writer(script: string, args: string[]) {
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ids: string[] = [];
    let stderr = '';
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      ids.push(...lines);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    return { child, ids, exited, stderr: () => stderr };
  }

  it('loses nothing when two processes and two connections in this one write at once', async () => {
    const dataDir = tempDir();
    const script = compiledModule();
    const perWriter = 400;
    const startAt = String(Date.now() + 1500);
    const children = ['child-a', 'child-b'].map((keyId) => writer(script, [dataDir, keyId, String(perWriter), startAt]));
    const here = [new SqliteDecisionLog({ dataDir }), new SqliteDecisionLog({ dataDir })];
    while (Date.now() < Number(startAt)) await new Promise((resolve) => setTimeout(resolve, 5));
    // In this process the two connections alternate (better-sqlite3 is synchronous); in batches of 5 besides.
    for (let i = 0; i < perWriter / 5; i++) {
      await here[0]!.record(Array.from({ length: 5 }, () => decision({ keyId: 'here-a' })));
      await here[1]!.record(Array.from({ length: 5 }, () => decision({ keyId: 'here-b' })));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const results = await Promise.all(children.map((c) => c.exited));
    for (const [i, result] of results.entries()) expect({ ...result, stderr: children[i]!.stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
    await Promise.all(here.map((l) => l.close()));

    const db = new Database(path.join(dataDir, 'decisions.sqlite'), { readonly: true });
    const counts = Object.fromEntries(
      (db.prepare('SELECT key_id, count(*) AS n FROM decisions GROUP BY key_id').all() as { key_id: string; n: number }[]).map((r) => [r.key_id, r.n]),
    );
    const stored = new Set(db.prepare('SELECT decision_id FROM decisions').pluck().all() as string[]);
    db.close();
    expect(counts).toEqual({ 'child-a': perWriter, 'child-b': perWriter, 'here-a': perWriter, 'here-b': perWriter });
    for (const c of children) for (const id of c.ids) expect(stored.has(id)).toBe(true);
  });

  it('keeps every record a writer killed with SIGKILL had been told was committed', async () => {
    const dataDir = tempDir();
    const w = writer(compiledModule(), [dataDir, 'killed', '1000000', String(Date.now())]);
    let ended: { code: number | null } | undefined;
    void w.exited.then((result) => (ended = result));
    // A writer that ends on its own (it failed) must fail the test with what it said, not wait forever.
    while (w.ids.length < 500 && ended === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    expect({ ended, stderr: w.stderr() }).toEqual({ ended: undefined, stderr: '' });
    w.child.kill('SIGKILL');
    expect((await w.exited).signal).toBe('SIGKILL');
    const told = [...w.ids];

    const reopened = new SqliteDecisionLog({ dataDir });
    try {
      for (const id of told) expect((await reopened.find(id))?.keyId).toBe('killed');
    } finally {
      await reopened.close();
    }
  });

  it('rejects a record, writing nothing, when another writer holds the lock past the busy timeout; then writes', async () => {
    const dataDir = tempDir();
    const log = new SqliteDecisionLog({ dataDir, busyTimeoutMs: 100 });
    const other = new Database(path.join(dataDir, 'decisions.sqlite'));
    try {
      other.exec('BEGIN IMMEDIATE');
      const r = decision();
      await expect(log.record([r])).rejects.toThrow(/locked|busy/i);
      other.exec('ROLLBACK');
      expect(await log.find(r.decisionId)).toBeUndefined();
      await log.record([r]);
      expect(await log.find(r.decisionId)).toStrictEqual(r);
    } finally {
      other.close();
      await log.close();
    }
  });

  it('opens the file in WAL mode with the schema version set, synchronous as the durability asked', async () => {
    const dataDir = tempDir();
    const processSafe = new SqliteDecisionLog({ dataDir });
    const powerSafe = new SqliteDecisionLog({ dataDir, durability: 'power' });
    const pragma = (log: SqliteDecisionLog, name: string) => (log as unknown as { db: Database.Database }).db.pragma(name, { simple: true });
    try {
      expect(pragma(processSafe, 'journal_mode')).toBe('wal');
      expect(pragma(processSafe, 'synchronous')).toBe(1); // NORMAL
      expect(pragma(powerSafe, 'synchronous')).toBe(2); // FULL
      expect(pragma(processSafe, 'busy_timeout')).toBe(10_000);
      expect(pragma(processSafe, 'user_version')).toBe(2);
    } finally {
      await processSafe.close();
      await powerSafe.close();
    }
  });

  it('keeps records across a close and a reopen', async () => {
    const dataDir = tempDir();
    const r = decision({ facts: { kept: true } });
    const first = new SqliteDecisionLog({ dataDir });
    await first.record([r]);
    await first.archive(VERSION);
    await first.close();
    const second = new SqliteDecisionLog({ dataDir });
    try {
      expect(await second.find(r.decisionId)).toStrictEqual(r);
      expect(await second.findVersion(VERSION.version)).toStrictEqual(VERSION);
    } finally {
      await second.close();
    }
  });

  it('refuses a file written by a newer schema rather than misread it', () => {
    const dataDir = tempDir();
    const db = new Database(path.join(dataDir, 'decisions.sqlite'));
    db.pragma('user_version = 3');
    db.close();
    expect(() => new SqliteDecisionLog({ dataDir })).toThrow(/schema 3, newer than this service's 2/);
  });

  it('brings a schema 1 file up to date in place: its records read back with no summary, new ones keep theirs', async () => {
    const dataDir = tempDir();
    // The file as the service wrote it at schema 1 (sqlite.ts before the summary column), with one record in it.
    const old = new Database(path.join(dataDir, 'decisions.sqlite'));
    for (const pragma of sqlitePragmas()) old.pragma(pragma);
    old.exec(SCHEMA_1);
    old.pragma('user_version = 1');
    const before = decision({ summary: null, facts: { kept: true } });
    old
      .prepare(
        `INSERT INTO decisions (decision_id, decided_at, key_id, rule_set, version, as_of, evaluator, outcome, fired, facts_digest, facts)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(recordColumns(before).slice(0, 11));
    old
      .prepare('INSERT INTO rule_versions (version, rule_set, file, rule_text, calendar_text) VALUES (?, ?, ?, ?, ?)')
      .run(VERSION.version, VERSION.ruleSet, VERSION.file, VERSION.ruleText, VERSION.calendarText);
    old.close();

    const migrated = new SqliteDecisionLog({ dataDir });
    // A second opener (another worker) finds it current: nothing to do, nothing refused.
    const again = new SqliteDecisionLog({ dataDir });
    try {
      expect(await migrated.find(before.decisionId)).toStrictEqual(before);
      expect(await migrated.findVersion(VERSION.version)).toStrictEqual(VERSION);
      const after = decision();
      await migrated.record([after]);
      expect(await again.find(after.decisionId)).toStrictEqual(after);
      expect((await again.find(after.decisionId))?.summary).toStrictEqual({ holdsUntil: '2025-09-01' });
    } finally {
      await migrated.close();
      await again.close();
    }
    const db = new Database(path.join(dataDir, 'decisions.sqlite'), { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(2);
      // The column is added last, as a new file has it, and is text (the table is STRICT).
      const columns = db.prepare('SELECT name, type FROM pragma_table_info(?)').all('decisions') as { name: string; type: string }[];
      expect(columns.map((c) => c.name)).toEqual([...COLUMNS_1, 'summary']);
      expect(columns.at(-1)).toEqual({ name: 'summary', type: 'TEXT' });
      expect(db.prepare('SELECT strict FROM pragma_table_list WHERE name = ?').pluck().get('decisions')).toBe(1);
    } finally {
      db.close();
    }
  });

  it('creates a new file with the same columns, in the same order, as a migrated one', async () => {
    const dataDir = tempDir();
    await new SqliteDecisionLog({ dataDir }).close();
    const db = new Database(path.join(dataDir, 'decisions.sqlite'), { readonly: true });
    try {
      expect(db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('decisions')).toEqual([...COLUMNS_1, 'summary']);
    } finally {
      db.close();
    }
  });
});

describe('the PostgreSQL decision log', () => {
  it('gives back the recorded strings whatever the session time zone and date style', async () => {
    const url = await (await postgres()).createDatabase(`log_${++databases}`);
    const plain = await PostgresDecisionLog.open(url);
    const options = encodeURIComponent('-c TimeZone=Australia/Sydney -c DateStyle=SQL,DMY');
    const sydney = await PostgresDecisionLog.open(`${url}?options=${options}`);
    try {
      // The setting took: the session would print a date its own way.
      const client = new Client({ connectionString: `${url}?options=${options}` });
      await client.connect();
      const { rows } = await client.query<{ d: string; t: string }>(`SELECT '2025-03-04'::date::text AS d, '2025-03-04T23:30:00.000Z'::timestamptz::text AS t`);
      await client.end();
      expect(rows[0]).toEqual({ d: '04/03/2025', t: '05/03/2025 10:30:00 AEDT' });

      const r = decision({ decidedAt: '2025-03-04T23:30:00.000Z', asOf: '2025-03-04' });
      await sydney.record([r]);
      expect(await sydney.find(r.decisionId)).toStrictEqual(r);
      expect(await plain.find(r.decisionId)).toStrictEqual(r);
    } finally {
      await plain.close();
      await sydney.close();
    }
  });

  it('lets several openers (each with its own pool, as each worker process has) create the tables of a new database at once, none failing', async () => {
    const url = await (await postgres()).createDatabase(`log_${++databases}`);
    const logs = await Promise.all(Array.from({ length: 6 }, () => PostgresDecisionLog.open(url)));
    try {
      const r = decision();
      await logs[0]!.record([r]);
      expect(await logs[5]!.find(r.decisionId)).toStrictEqual(r);
      const client = new Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query('SELECT version FROM decision_log_schema');
      await client.end();
      expect(rows).toEqual([{ version: 2 }]);
    } finally {
      await Promise.all(logs.map((l) => l.close()));
    }
  });

  it('commits a batch larger than a VALUES list could carry (65,535 parameters) in one call', async () => {
    const log = PostgresDecisionLog.open(await (await postgres()).createDatabase(`log_${++databases}`));
    const opened = await log;
    try {
      const records = Array.from({ length: 7000 }, (_, i) => decision({ keyId: `k${i}` }));
      await opened.record(records);
      expect(await opened.find(records[0]!.decisionId)).toStrictEqual(records[0]);
      expect(await opened.find(records[6999]!.decisionId)).toStrictEqual(records[6999]);
    } finally {
      await opened.close();
    }
  });

  it('refuses a database written by a newer schema', async () => {
    const url = await (await postgres()).createDatabase(`log_${++databases}`);
    await (await PostgresDecisionLog.open(url)).close();
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query('UPDATE decision_log_schema SET version = 3');
    await client.end();
    await expect(PostgresDecisionLog.open(url)).rejects.toThrow(/schema 3, newer than this service's 2/);
  });

  it('brings a schema 1 database up to date in place, however many open it at once: old records read back with no summary', async () => {
    const url = await (await postgres()).createDatabase(`log_${++databases}`);
    // The database as the service left it at schema 1, with one record in it.
    const before = decision({ summary: null, facts: { kept: true } });
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(POSTGRES_SCHEMA_1);
      await client.query('INSERT INTO decision_log_schema (version) VALUES (1)');
      await client.query(
        `INSERT INTO decisions (decision_id, decided_at, key_id, rule_set, version, as_of, evaluator, outcome, fired, facts_digest, facts)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        recordColumns(before).slice(0, 11),
      );

      const logs = await Promise.all(Array.from({ length: 4 }, () => PostgresDecisionLog.open(url)));
      try {
        expect(await logs[0]!.find(before.decisionId)).toStrictEqual(before);
        const after = decision({ summary: { holdsUntil: '2026-03-01' } });
        const none = decision({ summary: { holdsUntil: null } });
        await logs[1]!.record([after, none]);
        expect(await logs[2]!.find(after.decisionId)).toStrictEqual(after);
        expect(await logs[3]!.find(none.decisionId)).toStrictEqual(none);
      } finally {
        await Promise.all(logs.map((l) => l.close()));
      }
      const { rows: versions } = await client.query('SELECT version FROM decision_log_schema');
      expect(versions).toEqual([{ version: 2 }]);
      const { rows: columns } = await client.query<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'decisions' ORDER BY ordinal_position`,
      );
      expect(columns.map((c) => c.column_name)).toEqual([...COLUMNS_1, 'summary']);
      expect(columns.at(-1)).toEqual({ column_name: 'summary', data_type: 'jsonb' });
    } finally {
      await client.end();
    }
  });

  it('creates a new database with the same columns, in the same order, as a migrated one', async () => {
    const url = await (await postgres()).createDatabase(`log_${++databases}`);
    await (await PostgresDecisionLog.open(url)).close();
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'decisions' ORDER BY ordinal_position`,
      );
      expect(rows.map((r) => r.column_name)).toEqual([...COLUMNS_1, 'summary']);
    } finally {
      await client.end();
    }
  });

  it('tells onIdleError, and does not crash, when the server ends its idle connections', async () => {
    const url = await (await postgres()).createDatabase(`log_${++databases}`);
    const idleErrors: Error[] = [];
    const log = await PostgresDecisionLog.open(url, { onIdleError: (error) => idleErrors.push(error) });
    try {
      await Promise.all(Array.from({ length: 4 }, () => log.ping()));
      const admin = new Client({ connectionString: url });
      await admin.connect();
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
      await admin.end();
      for (let waited = 0; idleErrors.length === 0 && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(idleErrors.length).toBeGreaterThan(0);
      // Each terminated idle connection reports on its own; on a busy machine not all at once. Let the rest arrive.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(idleErrors[0]!.message).toMatch(/terminat/i);
      // The pool opens new connections: the log works again.
      const r = decision();
      await log.record([r]);
      expect(await log.find(r.decisionId)).toStrictEqual(r);
    } finally {
      await log.close();
    }
  });
});

describe('openDecisionLog', () => {
  it('opens SQLite under the data directory when there is no URL (or an empty one)', async () => {
    for (const url of [undefined, '']) {
      const dataDir = tempDir();
      const log = await openDecisionLog({ url, dataDir });
      expect(log.kind).toBe('sqlite');
      expect(log.location).toBe(path.join(dataDir, 'decisions.sqlite'));
      await log.close();
    }
  });

  it('opens PostgreSQL for a postgres:// or postgresql:// URL', async () => {
    const url = await (await postgres()).createDatabase(`log_${++databases}`);
    for (const given of [url, url.replace(/^postgres:/, 'postgresql:')]) {
      const log = await openDecisionLog({ url: given, dataDir: tempDir() });
      expect(log.kind).toBe('postgres');
      await log.ping();
      await log.close();
    }
  });

  it('refuses any other scheme, naming the setting and the schemes allowed but not the URL', async () => {
    await expect(openDecisionLog({ url: 'mysql://admin:hunter2@db/decisions', dataDir: tempDir() })).rejects.toThrow(
      'DECISION_LOG_URL must be a postgres:// or postgresql:// URL, or unset for SQLite under the data directory; it is a mysql: URL',
    );
    await expect(openDecisionLog({ url: 'db.internal:5432', dataDir: tempDir() })).rejects.toThrow(/DECISION_LOG_URL .* it is a db\.internal: URL/);
    await expect(openDecisionLog({ url: '/var/lib/decisions.sqlite', dataDir: tempDir() })).rejects.toThrow(/DECISION_LOG_URL .* it has no scheme/);
    await expect(openDecisionLog({ url: 'mysql://admin:hunter2@db/decisions', dataDir: tempDir() })).rejects.not.toThrow(/hunter2/);
  });
});

/**
 * Canonical JSON as a reference, written plainly (the writers in facts-digest.ts are tuned for speed): the digests
 * recorded so far must still match. Not JSON.stringify of a sorted copy: an object puts integer-like keys first
 * whatever order they are added in.
 */
function reference(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${reference(record[key])}`)
    .join(',')}}`;
}

/**
 * canonicalJson as it was when decisions were first logged with digests (facts-digest.ts, November 2026), kept here
 * as it was: the reference for values that are not plain JSON (toJSON, undefined, functions), which `reference`
 * above does not cover.
 */
function canonicalJsonAsLogged(value: unknown): string {
  const write = (value: unknown): string | undefined => {
    switch (typeof value) {
      case 'string':
        return JSON.stringify(value);
      case 'number':
        return Number.isFinite(value) ? String(value) : 'null';
      case 'boolean':
        return value ? 'true' : 'false';
      case 'object': {
        if (value === null) return 'null';
        if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return write((value as { toJSON: () => unknown }).toJSON());
        if (Array.isArray(value)) {
          let text = '[';
          for (let i = 0; i < value.length; i += 1) text += (i === 0 ? '' : ',') + (write(value[i]) ?? 'null');
          return `${text}]`;
        }
        const keys = Object.keys(value);
        if (keys.length > 1) keys.sort();
        let text = '{';
        for (const key of keys) {
          const item = write((value as Record<string, unknown>)[key]);
          if (item === undefined) continue;
          text += (text.length === 1 ? '' : ',') + `${JSON.stringify(key)}:` + item;
        }
        return `${text}}`;
      }
      case 'bigint':
        return JSON.stringify(value);
      default:
        return undefined;
    }
  };
  return write(value) ?? 'null';
}

/** The digest of the facts with this salt, made from a reference writer: sha256(salt || canonical JSON). */
function referenceDigest(facts: unknown, salt: Buffer, writer: (value: unknown) => string = reference): string {
  return `sha256:${salt.toString('hex')}:${createHash('sha256').update(salt).update(writer(facts)).digest('hex')}`;
}

describe('the facts digest', () => {
  const facts = { person: { postcode: '2600', dateOfBirth: '1970-01-31' }, weeksUnemployed: 27, flags: ['homeless', 'exOffender'], partner: null };

  it('writes canonical JSON: keys sorted at every depth, arrays in order, no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null }, e: 'x y', u: undefined })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1,"e":"x y"}',
    );
    expect(canonicalJson([2, 1, undefined])).toBe('[2,1,null]');
  });

  it("is JSON.stringify with every object's keys sorted, for any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const written = canonicalJson(value);
        expect(written).toBe(reference(value));
        expect(written).toBe(canonicalJsonAsLogged(value));
        expect(JSON.parse(written)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { seed: 20261124, numRuns: 2_000 },
    );
    // What JSON.stringify does with the values JSON cannot hold, and with toJSON.
    expect(canonicalJson({ n: -0, nan: NaN, inf: -Infinity, f: () => 1, s: Symbol('s'), d: new Date(Date.UTC(2025, 0, 2)), a: [undefined, () => 1] })).toBe(
      '{"a":[null,null],"d":"2025-01-02T00:00:00.000Z","inf":null,"n":0,"nan":null}',
    );
    expect(() => canonicalJson({ big: 1n })).toThrow(TypeError);
  });

  it('is sha256 of the salt and the canonical JSON, in the form sha256:<salt hex>:<digest hex>', () => {
    const salt = Buffer.alloc(16, 0xab);
    const expected = createHash('sha256').update(salt).update(canonicalJson(facts)).digest('hex');
    expect(factsDigest(facts, salt)).toBe(`sha256:${'ab'.repeat(16)}:${expected}`);
    expect(factsDigest(facts)).toMatch(/^sha256:[0-9a-f]{32}:[0-9a-f]{64}$/);
  });

  it('matches the same facts whatever their key order', () => {
    const digest = factsDigest(facts);
    expect(
      factsMatch(digest, { partner: null, flags: ['homeless', 'exOffender'], weeksUnemployed: 27, person: { dateOfBirth: '1970-01-31', postcode: '2600' } }),
    ).toBe(true);
  });

  it('does not match changed facts: a value, an added or removed key, array order', () => {
    const digest = factsDigest(facts);
    expect(factsMatch(digest, { ...facts, weeksUnemployed: 26 })).toBe(false);
    expect(factsMatch(digest, { ...facts, person: { ...facts.person, postcode: '2601' } })).toBe(false);
    expect(factsMatch(digest, { ...facts, extra: false })).toBe(false);
    const { partner: _partner, ...withoutPartner } = facts;
    expect(factsMatch(digest, withoutPartner)).toBe(false);
    expect(factsMatch(digest, { ...facts, flags: ['exOffender', 'homeless'] })).toBe(false);
  });

  it('salts every digest: the same facts twice give different digests, each matching', () => {
    const first = factsDigest(facts);
    const second = factsDigest(facts);
    expect(first).not.toBe(second);
    expect(first.split(':')[2]).not.toBe(second.split(':')[2]);
    expect(factsMatch(first, facts) && factsMatch(second, facts)).toBe(true);
  });

  it('answers false, never throws, for a malformed digest or facts that are not JSON', () => {
    const digest = factsDigest(facts);
    const [, salt, hash] = digest.split(':');
    for (const malformed of [
      '',
      'sha256',
      `md5:${salt}:${hash}`,
      `sha256:${salt}`,
      `sha256:${salt}:${hash}:`,
      `sha256:${salt}:${hash!.slice(2)}`,
      `sha256:${salt!.toUpperCase()}:${hash}`,
      `sha256:${salt}:${'zz'.repeat(32)}`,
      ` ${digest}`,
    ]) {
      expect(factsMatch(malformed, facts)).toBe(false);
    }
    expect(factsMatch(undefined as unknown as string, facts)).toBe(false);
    expect(factsMatch(42 as unknown as string, facts)).toBe(false);
    expect(factsMatch(digest, { big: 1n })).toBe(false);
  });

  // Every decision's digest is written by a writer that knows the facts' schema (keys placed, not sorted): for case
  // facts as the service validates them, defaults filled in, its bytes must be the reference's, or a decision
  // logged before it could no longer be reproduced.
  it('is the reference digest of validated case facts, defaults filled in', () => {
    const salt = Buffer.alloc(16, 0x5a);
    fc.assert(
      fc.property(validFacts, (given) => {
        const validated = checkCaseFacts(given);
        expect(factsDigest(validated, salt)).toBe(referenceDigest(validated, salt));
        expect(factsDigest(validated, salt)).toBe(referenceDigest(validated, salt, canonicalJsonAsLogged));
        expect(factsMatch(referenceDigest(validated, salt), validated)).toBe(true);
      }),
      { seed: 20261201, numRuns: 1_000 },
    );
  });

  // And of anything else, which the schema's writer hands to the general one where it stops fitting the schema.
  it('is the reference digest of facts that do not fit the schema: unknown keys, other types, undefined, toJSON', () => {
    const salt = Buffer.alloc(16, 0xa5);
    const strange = fc.oneof(
      fc.jsonValue(),
      fc.constant(undefined),
      fc.constantFrom(
        new Date(Date.UTC(2025, 5, 2)),
        { toJSON: () => ({ b: 1, a: 2 }) },
        Object.assign([1, 2], { toJSON: () => 'list' }),
        () => 1,
        Symbol('s'),
      ),
      fc.dictionary(fc.constantFrom('program', 'zoneCaseManagement', 'urgent', 'date', 'unknown', '__proto__', 'b', 'a'), fc.jsonValue({ maxDepth: 1 })),
    );
    const unusual = validFacts
      .map((given) => checkCaseFacts(given))
      .chain((validated) => {
        const places = placesIn(validated);
        return fc.tuple(fc.constant(validated), places.length > 0 ? fc.constantFrom(...places) : fc.constant([]), strange, fc.boolean());
      })
      .map(([validated, place, by, addKey]) => {
        if (!addKey || place.length === 0) return replacedAt(validated, place, by);
        // Beside the value at the place: a key the schema does not name, in the object that holds it.
        const holder = place.slice(0, -1);
        const object = holder.reduce<unknown>((value, step) => (value as Record<string | number, unknown>)[step], validated);
        if (object === null || typeof object !== 'object' || Array.isArray(object)) return replacedAt(validated, place, by);
        return replacedAt(validated, holder, { ...object, zzUnknown: by, AaUnknown: 1 });
      });
    fc.assert(
      fc.property(unusual, (facts) => {
        expect(factsDigest(facts, salt)).toBe(referenceDigest(facts, salt, canonicalJsonAsLogged));
      }),
      { seed: 20261202, numRuns: 1_000 },
    );
    // Text beyond ASCII (two-byte, three-byte, a surrogate pair, a lone surrogate), and facts too large for the
    // digest's reused buffer (64 KiB).
    for (const topic of ['Ngā mihi — “quoted” 🎉 \ud800 end', 'é'.repeat(40_000), '🎉'.repeat(20_000)]) {
      const facts = { program: 'centrelink', customer: { complaints: [{ date: '2025-06-02', stage: 'frontline', topic }] } };
      expect(factsDigest(facts, salt)).toBe(referenceDigest(facts, salt, canonicalJsonAsLogged));
    }
    expect(
      factsDigest({ program: 'centrelink', customer: { incidents: [{ date: '2025-06-02', kind: 'verbal-abuse', setting: 'phone', extra: [3, 1] }] } }, salt),
    ).toBe(
      referenceDigest(
        { customer: { incidents: [{ date: '2025-06-02', extra: [3, 1], kind: 'verbal-abuse', setting: 'phone' }] }, program: 'centrelink' },
        salt,
      ),
    );
  });

  it('refuses a salt that is not 16 bytes', () => {
    expect(() => factsDigest(facts, Buffer.alloc(8))).toThrow(RangeError);
  });
});
