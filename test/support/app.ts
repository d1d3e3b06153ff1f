// The app as tests drive it: real keys, a real SQLite decision log in a temp folder, and every response checked against /openapi.json.
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliDecompressSync, constants, gunzipSync, inflateSync } from 'node:zlib';
import request from 'supertest';
import { keysFromEnvironment, type Role } from '../../src/api/access';
import { createApp, type AppOptions } from '../../src/api/app';
import { SqliteDecisionLog } from '../../src/decisions/sqlite';
import type { DecisionLog } from '../../src/decisions/log';
import { DecisionRecorder } from '../../src/decisions/recorder';
import { contractViolations, toClose } from './contract';
import { openApiDocument } from '../../src/api/openapi';
import { responseChecker, type ResponseChecker } from './openapi';

/** One key per role, as an operator would configure them (API_KEYS). The secrets are test-only. */
export const TEST_SECRETS: Record<Role, string> = {
  caseworker: 'caseworker-test-secret-0123456789',
  policy: 'policy-test-secret-0123456789abcdef',
  auditor: 'auditor-test-secret-0123456789abcd',
};
export const TEST_KEYS = `cw1:caseworker:${TEST_SECRETS.caseworker},pol1:policy:${TEST_SECRETS.policy},aud1:auditor:${TEST_SECRETS.auditor}`;
export const bearer = (role: Role): string => `Bearer ${TEST_SECRETS[role]}`;

/**
 * The checker for the document /openapi.json serves now: it follows the registered rule sets, so a test that registers
 * one has its answers checked against the document that documents it. One per document (it is rebuilt only when the
 * registry changes), compiled on first use.
 */
const checkers = new WeakMap<object, ResponseChecker>();
function currentChecker(): ResponseChecker {
  const document = openApiDocument();
  let checker = checkers.get(document);
  if (!checker) {
    checker = responseChecker(document);
    checkers.set(document, checker);
  }
  return checker;
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** The body as the app wrote it, from the bytes sent: compressed when the client accepted it (app.ts, compression). */
function inflated(bytes: Buffer, encoding: unknown): string {
  // A response cut short (a client gone, a stream ended early) inflates as far as it goes.
  const partial = { finishFlush: constants.Z_SYNC_FLUSH };
  switch (encoding) {
    case 'gzip':
      return gunzipSync(bytes, partial).toString('utf8');
    case 'deflate':
      return inflateSync(bytes, partial).toString('utf8');
    case 'br':
      return brotliDecompressSync(bytes, { finishFlush: constants.BROTLI_OPERATION_FLUSH }).toString('utf8');
    default:
      return bytes.toString('utf8');
  }
}

/** Wraps a request listener so each response's status, headers and body (inflated, when compressed) are checked against the OpenAPI document. */
function checked(app: Listener): Listener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    const keep = (chunk: unknown, encoding?: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
    };
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      keep(chunk, rest[0]);
      return write(chunk, ...rest);
    }) as typeof res.write;
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      keep(chunk, rest[0]);
      return end(chunk, ...rest);
    }) as typeof res.end;
    res.on('finish', () => {
      const headers = res.getHeaders();
      const problems = currentChecker().check(
        req.method ?? 'GET',
        req.url ?? '/',
        res.statusCode,
        headers,
        inflated(Buffer.concat(chunks), headers['content-encoding']),
      );
      for (const p of problems) contractViolations.push(`${req.method} ${req.url} → ${res.statusCode}: ${p}`);
    });
    app(req, res);
  };
}

export interface TestApp {
  /** For supertest: request(app.listener). */
  listener: Listener;
  log: DecisionLog;
  recorder: DecisionRecorder;
  dataDir: string;
  /** A supertest agent sending the given role's key with every request. */
  as(role: Role): request.Agent;
  /** An HTTP server on a free loopback port, for tests that need a real socket; the test closes it. */
  listen(): Promise<Server>;
}

/** `keys`: API_KEYS to use instead of TEST_KEYS (a test that needs two keys of one role). */
export type TestAppOptions = Omit<AppOptions, 'access' | 'recorder'> & { keepFacts?: boolean; log?: DecisionLog; keys?: string };

export function testApp(options: TestAppOptions): TestApp {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ps-decisions-'));
  const log = options.log ?? new SqliteDecisionLog({ dataDir });
  const recorder = new DecisionRecorder(log, { keepFacts: options.keepFacts ?? false, clock: options.clock });
  const { ring } = keysFromEnvironment({ API_KEYS: options.keys ?? TEST_KEYS });
  const app = createApp({ ...options, access: ring, recorder });
  const listener = checked(app);
  if (!options.log) toClose.push(() => log.close());
  const listen = async () => {
    const server = createServer(listener).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    return server;
  };
  return { listener, log, recorder, dataDir, as: (role) => request.agent(listener).set('Authorization', bearer(role)), listen };
}
