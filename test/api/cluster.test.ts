// The built service as a cluster (WORKERS=2): it answers, a reload asked of one worker reaches every worker, a dead worker is replaced, SIGTERM stops it cleanly;
// with development keys, every worker accepts the keys the primary printed, on 127.0.0.1 only.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { connect } from 'node:net';
import Database from 'better-sqlite3';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { RULES_DIR, shippedRules } from '../support';
import { ensureBuilt, SERVER } from '../support/built';
import type { Role } from '../../src/api/access';
import { bearer, TEST_KEYS } from '../support/app';

interface LogLine {
  msg: string;
  pid: number;
  port?: number;
  worker?: number;
  [key: string]: unknown;
}

/** A GET on a connection of its own, so the cluster's round-robin hands successive requests to different workers. */
function getText(port: number, route: string, role: Role = 'caseworker'): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ port, path: route, agent: false, headers: { connection: 'close', authorization: bearer(role) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
  });
}

/** Whether a TCP connection to host:port is accepted (true) or refused (false). */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNREFUSED' ? resolve(false) : reject(error)));
  });
}

/** This machine's addresses other than 127.0.0.1 (link-local ones need a scope, and are left out). */
const otherAddresses = (): string[] =>
  Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((i) => i.address)
    .filter((a) => a !== '127.0.0.1' && !a.startsWith('fe80:'));

async function getJson(port: number, route: string, role: Role = 'caseworker'): Promise<{ status: number; body: Record<string, unknown> }> {
  const { status, text } = await getText(port, route, role);
  return { status, body: JSON.parse(text) as Record<string, unknown> };
}

function post(
  port: number,
  route: string,
  role: Role = 'policy',
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown>; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { authorization: bearer(role) };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const req = http.request({ port, path: route, method: 'POST', agent: false, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown>, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('WORKERS=2', () => {
  let rulesDir: string;
  let dataDir: string;
  let server: ChildProcessWithoutNullStreams;
  // Everything the service printed, as text: searched for a planted fact value.
  let printed = '';
  const logs: LogLine[] = [];
  const waiters: { test: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];

  /** Resolves with the first log line (already seen or still to come) that passes the test. */
  const logged = (test: (line: LogLine) => boolean, after = 0, timeoutMs = 30_000): Promise<LogLine> => {
    const seen = logs.slice(after).find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no such log line within ${timeoutMs} ms; got:\n${logs.map((l) => l.msg).join('\n')}`)), timeoutMs);
      waiters.push({
        test,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  };
  const listening = (line: LogLine) => line.msg.startsWith('listening on');

  let port = 0;
  let workerPids: number[] = [];

  beforeAll(async () => {
    ensureBuilt();
    rulesDir = mkdtempSync(path.join(tmpdir(), 'cluster-rules-'));
    cpSync(RULES_DIR, rulesDir, { recursive: true });
    dataDir = mkdtempSync(path.join(tmpdir(), 'cluster-data-'));
    server = spawn(process.execPath, [SERVER], {
      env: { ...process.env, WORKERS: '2', PORT: '0', RULES_DIR: rulesDir, DATA_DIR: dataDir, API_KEYS: TEST_KEYS },
    });
    let pending = '';
    server.stdout.setEncoding('utf8');
    server.stdout.on('data', (chunk: string) => {
      printed += chunk;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const text of lines) {
        if (!text.trim()) continue;
        const line = JSON.parse(text) as LogLine;
        logs.push(line);
        for (const waiter of waiters.filter((w) => w.test(line))) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    });
    server.stderr.setEncoding('utf8');
    server.stderr.on('data', (chunk: string) => {
      printed += chunk;
    });
    const first = await logged(listening);
    await logged((l) => listening(l) && l.pid !== first.pid);
    const ready = logs.filter(listening);
    port = ready[0]!.port!;
    workerPids = ready.map((l) => l.pid);
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(rulesDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('two worker processes serve on one port', async () => {
    expect(new Set(workerPids).size).toBe(2);
    expect(workerPids).not.toContain(server.pid);
    const health = await getJson(port, '/health');
    expect(health).toEqual({ status: 200, body: { status: 'ok' } });
  });

  test('with API_KEYS configured and HOST unset, it binds every interface', async () => {
    for (const line of logs.filter(listening)) expect(['::', '0.0.0.0']).toContain(line.host);
    const addresses = otherAddresses();
    expect(addresses.length).toBeGreaterThan(0);
    for (const address of addresses) expect(await accepts(address, port)).toBe(true);
  });

  test('a decision either worker made is in the shared log, and no fact value is in the log or the service logs', async () => {
    // A name where free text is allowed (a complaint's topic): it must be used to decide, never kept.
    const planted = 'Ngaire Wolfenden-Quirke';
    const facts = {
      program: 'child-support',
      referral: { source: 'mats', receivedOn: '2025-06-02' },
      customer: { psHistory: 'never', complaints: [{ date: '2025-05-01', stage: 'frontline', topic: `call from ${planted}` }] },
    };
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => post(port, '/v1/rulesets/segment-allocation/evaluate', 'caseworker', { asOf: '2025-06-02', facts })),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.headers['x-decision-id']).toBe(answer.body.decisionId);
      // Asked of both workers in turn (a connection each): the log is one, whichever process wrote it.
      for (let i = 0; i < 2; i += 1) {
        const found = await getJson(port, `/v1/decisions/${String(answer.body.decisionId)}`, 'auditor');
        expect(found.status).toBe(200);
        expect(found.body).toEqual(
          expect.objectContaining({ decisionId: answer.body.decisionId, version: answer.body.version, keyId: 'cw1', factsKept: false }),
        );
      }
    }
    const stored = readdirSync(dataDir)
      .map((f) => readFileSync(path.join(dataDir, f)).toString('latin1'))
      .join('');
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.includes(planted)).toBe(false);
    expect(printed).toContain('"statusCode":200');
    expect(printed.includes(planted)).toBe(false);
    expect(printed).not.toContain(TEST_KEYS.split(':')[2]!.split(',')[0]!);
  });

  test('/metrics counts the decisions of both workers', async () => {
    const scrape = await getText(port, '/metrics');
    expect(scrape.status).toBe(200);
    const decisions = scrape.text.split('\n').filter((l) => l.startsWith('decisions_total{') && l.includes('rule_set="segment-allocation"'));
    const total = decisions.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    expect(total).toBeGreaterThanOrEqual(4);
  });

  test('POST /v1/admin/reload to one worker reloads every worker before it answers', async () => {
    const file = path.join(rulesDir, 'segment-allocation.json');
    const before = shippedRules(rulesDir).ruleSets.get('segment-allocation')!.latest.version;
    writeFileSync(file, readFileSync(file, 'utf8').replace(/("multiple": \{\s*"value": )2/, '$13'));
    const after = shippedRules(rulesDir).ruleSets.get('segment-allocation')!.latest.version;
    expect(after).not.toBe(before);

    const mark = logs.length;
    const reload = await post(port, '/v1/admin/reload');
    expect(reload.status).toBe(200);
    expect((reload.body.versions as Record<string, string>)['segment-allocation.json']).toBe(after);
    // The primary relayed it: the answering worker waited for the other's confirmation.
    await logged((l) => l.msg === 'rules reload relayed to every worker', mark, 5_000);

    const answers = await Promise.all(Array.from({ length: 6 }, () => getJson(port, '/v1/rulesets/segment-allocation')));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.version).toBe(after);
      expect((answer.body.parameters as Record<string, { value: number }>).multiple?.value).toBe(3);
    }
  });

  test('a worker that dies is replaced, and the service keeps answering', async () => {
    const mark = logs.length;
    process.kill(workerPids[0]!, 'SIGKILL');
    await logged((l) => l.msg.startsWith('worker died; starting another'), mark);
    const replacement = await logged((l) => listening(l), mark);
    expect(workerPids).not.toContain(replacement.pid);
    const answers = await Promise.all(Array.from({ length: 4 }, () => getJson(port, '/health')));
    expect(answers.every((a) => a.status === 200)).toBe(true);
  });

  test('SIGTERM finishes the request in flight (recorded and answered), then every worker stops and the primary exits 0', async () => {
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    const payload = JSON.stringify({ asOf: '2025-06-02', facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' } } });
    const answered = new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const req = http.request(
        {
          port,
          method: 'POST',
          path: '/v1/rulesets/direct-referral/evaluate',
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), authorization: bearer('caseworker') },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
        },
      );
      req.on('error', reject);
      // Half the body before the signal, the rest after it: the request is in flight when the stop begins.
      req.write(payload.slice(0, 20));
      setTimeout(() => {
        server.kill('SIGTERM');
        setTimeout(() => req.end(payload.slice(20)), 500);
      }, 200);
    });
    const answer = await answered;
    expect(answer.status).toBe(200);
    expect(answer.body.decisionId).toEqual(expect.any(String));
    expect(await exited).toBe(0);
    const db = new Database(path.join(dataDir, 'decisions.sqlite'), { readonly: true });
    const logged = db.prepare('SELECT version FROM decisions WHERE decision_id = ?').get(answer.body.decisionId) as { version: string } | undefined;
    db.close();
    expect(logged?.version).toBe(answer.body.version);
    expect(logs.filter((l) => l.msg === 'stopping: finishing requests in flight')).toHaveLength(2);
  });
});

describe('WORKERS=2 with development keys (no API_KEYS, no HOST)', () => {
  let dataDir: string;
  let server: ChildProcessWithoutNullStreams;
  let stdout = '';
  let stderr = '';
  const lines = () =>
    stdout
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as LogLine);
  const listeners = () => lines().filter((l) => l.msg.startsWith('listening on'));
  let port = 0;

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(path.join(tmpdir(), 'cluster-dev-keys-'));
    const env: NodeJS.ProcessEnv = { ...process.env, WORKERS: '2', PORT: '0', DATA_DIR: dataDir, RULES_DIR };
    delete env.API_KEYS;
    delete env.API_KEYS_FILE;
    delete env.HOST;
    server = spawn(process.execPath, [SERVER], { env });
    server.stdout.setEncoding('utf8');
    server.stderr.setEncoding('utf8');
    server.stdout.on('data', (chunk: string) => {
      stdout += chunk;
    });
    server.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    const started = Date.now();
    while (listeners().length < 2) {
      if (Date.now() - started > 30_000 || server.exitCode !== null) throw new Error(`the service did not start:\n${stdout}\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    port = listeners()[0]!.port!;
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('it listens on 127.0.0.1 only: the development keys are for this machine', async () => {
    expect(listeners().map((l) => [l.host, l.msg])).toEqual([
      ['127.0.0.1', `listening on http://127.0.0.1:${port}`],
      ['127.0.0.1', `listening on http://127.0.0.1:${port}`],
    ]);
    expect(await accepts('127.0.0.1', port)).toBe(true);
    const addresses = otherAddresses();
    expect(addresses.length).toBeGreaterThan(0);
    for (const address of addresses) expect(await accepts(address, port)).toBe(false);
  });

  test('every worker accepts the keys the primary printed: the workers were given them, and generated none', async () => {
    const printed = [...stderr.matchAll(/^ {2}(caseworker|policy|auditor) +Authorization: Bearer (\S+)$/gm)].map((m) => ({ role: m[1], secret: m[2]! }));
    expect(printed.map((k) => k.role)).toEqual(['caseworker', 'policy', 'auditor']);
    // Printed once, by the primary.
    expect(stderr.split('Development API keys').length - 1).toBe(1);
    const route = '/v1/rulesets/segment-allocation';
    const statuses = await Promise.all(
      Array.from(
        { length: 6 },
        () =>
          new Promise<number>((resolve, reject) => {
            const req = http.get(
              { host: '127.0.0.1', port, path: route, agent: false, headers: { connection: 'close', authorization: `Bearer ${printed[0]!.secret}` } },
              (res) => {
                res.resume();
                res.on('end', () => resolve(res.statusCode ?? 0));
              },
            );
            req.on('error', reject);
          }),
      ),
    );
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    // Both workers answered some of them (a connection each, handed round by the cluster).
    const workerPids = new Set(listeners().map((l) => l.pid));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const answeredBy = new Set(
      lines()
        .filter((l) => workerPids.has(l.pid) && JSON.stringify(l).includes(route))
        .map((l) => l.pid),
    );
    expect(answeredBy.size).toBe(2);
  });
});
