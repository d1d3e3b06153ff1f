// Fault: slow and greedy clients (issue 11, point 7): a huge Content-Length, a drip-fed body, a slowloris, a client gone
// silent, and more connections than a worker takes.
//
// Before: `Content-Length: 99999999999` got no 413 until the timeout (body-parser reads the whole declared body before
// its 413), a drip-fed evaluate kept its socket after its 503, and there was no idle timeout or connection cap. Now a
// length past the limit is refused from the header, an answer given before the body has arrived closes the
// connection, and the server has header, request and idle timeouts and a cap on connections per worker
// (api/limits.ts limitedServer, closeWhenAnswered; api/json-body.ts).
import { connect, type Socket } from 'node:net';
import { n, secs } from '../../support/report';
import { bearer } from '../production-load';
import { decisionIdOf, FaultCluster, LIGHT, type FaultReport } from './cluster';
import { answeredIds, loadLoop, pause, statuses, until, type LoadLoop } from './load-loop';

/** A raw connection to the service: what it answered, and when (ms after it opened). */
interface Raw {
  socket: Socket;
  received: Buffer[];
  openedAt: number;
  /** The first byte of an answer. */
  answeredAt?: number;
  /** The server ended the connection (its FIN). */
  endedAt?: number;
  /** The connection is closed, by either side. */
  closedAt?: number;
  /** Bytes the client managed to write. */
  written: number;
}

function rawConnection(port: number): Raw {
  const socket = connect(port, '127.0.0.1');
  const raw: Raw = { socket, received: [], openedAt: performance.now(), written: 0 };
  const since = () => performance.now() - raw.openedAt;
  socket.on('data', (chunk: Buffer) => {
    raw.answeredAt ??= since();
    raw.received.push(chunk);
  });
  socket.on('end', () => {
    raw.endedAt = since();
  });
  socket.on('close', () => {
    raw.closedAt = since();
  });
  // A reset, or a write after the server closed: the timings say what happened.
  socket.on('error', () => {});
  return raw;
}

const textOf = (raw: Raw): string => Buffer.concat(raw.received).toString('utf8');
const statusOf = (raw: Raw): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(textOf(raw))?.[1] ?? 0);
const headerOf = (raw: Raw, name: string): string | undefined =>
  new RegExp(`\\r\\n${name}: ([^\\r]*)\\r\\n`, 'i').exec(textOf(raw).split('\r\n\r\n')[0] + '\r\n')?.[1];
const codeOf = (raw: Raw): string | undefined => /"code":"([a-z-]+)"/.exec(textOf(raw))?.[1];

/** Writes 64 KiB chunks as fast as the connection takes them, until it closes. */
function pump(raw: Raw): void {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const more = () => {
    while (!raw.socket.destroyed && raw.socket.writable) {
      raw.written += chunk.length;
      if (!raw.socket.write(chunk)) {
        raw.socket.once('drain', more);
        return;
      }
    }
  };
  more();
}

/** Drips `text` one byte every `everyMs`; returns a function that stops it. */
function drip(raw: Raw, text: string, everyMs: number): () => void {
  let at = 0;
  const timer = setInterval(() => {
    if (raw.socket.destroyed || at >= text.length) return;
    raw.socket.write(text[at] as string);
    raw.written += 1;
    at += 1;
  }, everyMs);
  return () => clearInterval(timer);
}

const when = (ms: number | undefined): string => (ms === undefined ? 'never' : secs(ms));

export async function run(options: { quick?: boolean } = {}): Promise<FaultReport> {
  const problems: string[] = [];
  const details: string[] = [];
  // Quick: timeouts of a second or two; otherwise the service's defaults (limits.ts).
  const requestMs = options.quick ? 1_000 : 10_000;
  const headersMs = options.quick ? 1_000 : 10_000;
  const idleMs = options.quick ? 2_000 : 30_000;
  const maxConnections = options.quick ? 20 : 1_000;
  const given: string[] = [];
  let checked = 0;
  let missing = 0;
  const lightStatuses: string[] = [];
  const answered: string[] = [];
  const refused: string[] = [];

  const light = async (cluster: FaultCluster, loop: LoadLoop) => {
    const sent = await loop.stop();
    given.push(...answeredIds(sent));
    lightStatuses.push(statuses(sent));
    details.push(`light evaluations meanwhile: ${statuses(sent)}`);
    if (sent.length === 0 || sent.some((s) => s.status !== 200)) problems.push(`a light evaluation sent meanwhile was not answered 200: ${statuses(sent)}`);
    missing += (await cluster.missingAfterRestart(given)).length;
    checked += given.length;
    given.length = 0;
  };

  // 1–4: slow clients, all at once, with light evaluations throughout.
  const cluster = await FaultCluster.start({
    env: options.quick ? { REQUEST_TIMEOUT_MS: String(requestMs), HEADERS_TIMEOUT_MS: String(headersMs), IDLE_TIMEOUT_MS: String(idleMs) } : {},
  });
  let loop: LoadLoop | undefined;
  try {
    loop = loadLoop(cluster);
    const key = bearer(cluster.keys.caseworker);
    const head = (path: string, type: string, length: number | undefined) =>
      `POST ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${key}\r\nContent-Type: ${type}\r\n${length === undefined ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`}\r\n\r\n`;

    // 1. A huge declared body, on evaluate and on evaluate-batch, the client sending as fast as it can.
    const huge = [
      { route: 'evaluate', raw: rawConnection(cluster.port), head: head(`/v1/rulesets/${LIGHT.ruleSet}/evaluate`, 'application/json', 99_999_999_999) },
      {
        route: 'evaluate-batch',
        raw: rawConnection(cluster.port),
        head: head(`/v1/rulesets/${LIGHT.ruleSet}/evaluate-batch`, 'application/x-ndjson', 99_999_999_999),
      },
    ];
    for (const h of huge) {
      h.raw.socket.write(h.head);
      pump(h.raw);
    }

    // 2. A drip-fed evaluate: a byte every 100 ms of a 400-byte body.
    const dripped = rawConnection(cluster.port);
    dripped.socket.write(head(`/v1/rulesets/${LIGHT.ruleSet}/evaluate`, 'application/json', 400));
    const stopDrip = drip(dripped, LIGHT.body.padEnd(400, ' '), 100);

    // 3. A slowloris: a header line every 200 ms, never the blank line that ends them.
    const loris = rawConnection(cluster.port);
    loris.socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n');
    const stopLoris = setInterval(() => {
      if (!loris.socket.destroyed) loris.socket.write(`X-Slow-${Math.floor(performance.now())}: 1\r\n`);
    }, 200);

    // 4. A batch whose client sends one line and then falls silent, and a connection that never sends a byte.
    const silent = rawConnection(cluster.port);
    const line = `${JSON.stringify({ id: 'silent-1', ...(JSON.parse(LIGHT.body) as object) })}\n`;
    silent.socket.write(
      `${head(`/v1/rulesets/${LIGHT.ruleSet}/evaluate-batch`, 'application/x-ndjson', undefined)}${Buffer.byteLength(line).toString(16)}\r\n${line}\r\n`,
    );
    const mute = rawConnection(cluster.port);

    const all = [...huge.map((h) => h.raw), dripped, loris, silent, mute];
    await until(() => all.every((r) => r.closedAt !== undefined), Math.max(requestMs, headersMs, idleMs) + 10_000);
    stopDrip();
    clearInterval(stopLoris);
    for (const r of all) r.socket.destroy();

    for (const { route, raw } of huge) {
      details.push(
        `${route} with Content-Length: 99999999999, the client sending as fast as it can: ${statusOf(raw)} ${codeOf(raw)} after ${when(raw.answeredAt)}, Connection: ${headerOf(raw, 'Connection')}; the server ended the connection after ${when(raw.endedAt)}, closed after ${when(raw.closedAt)}; the client wrote ${(raw.written / 1024 / 1024).toFixed(1)} MiB before then`,
      );
      if (statusOf(raw) !== 413 || codeOf(raw) !== 'payload-too-large')
        problems.push(`${route} with a huge Content-Length answered ${statusOf(raw)} ${codeOf(raw)}, not 413 payload-too-large`);
      if ((raw.answeredAt ?? Infinity) > 1_000)
        problems.push(`${route} with a huge Content-Length was answered after ${when(raw.answeredAt)}, not within a second`);
      if (raw.endedAt === undefined || headerOf(raw, 'Connection')?.toLowerCase() !== 'close')
        problems.push(`${route} with a huge Content-Length: the connection was not closed after the 413`);
      // What the server may still read is bounded (4 MiB discarded, then kernel buffers); before, it read until the timeout.
      if (raw.written > 64 * 1024 * 1024)
        problems.push(`${route} with a huge Content-Length: the client could write ${(raw.written / 1024 / 1024).toFixed(0)} MiB before the close`);
    }
    answered.push(`a huge Content-Length 413 in ${when(Math.max(...huge.map((h) => h.raw.answeredAt ?? Infinity)))}`);

    details.push(
      `a drip-fed evaluate (a byte every 100 ms; REQUEST_TIMEOUT_MS ${n(requestMs)}): ${statusOf(dripped)} ${codeOf(dripped)} after ${when(dripped.answeredAt)}, Connection: ${headerOf(dripped, 'Connection')}; the server ended the connection after ${when(dripped.endedAt)}`,
    );
    if (statusOf(dripped) !== 503 || codeOf(dripped) !== 'timeout')
      problems.push(`the drip-fed evaluate answered ${statusOf(dripped)} ${codeOf(dripped)}, not 503 timeout`);
    if (dripped.endedAt === undefined || dripped.endedAt > requestMs + 3_000)
      problems.push(`the drip-fed evaluate's connection was not ended after its 503 (ended ${when(dripped.endedAt)})`);
    answered.push(`a drip-fed evaluate 503 at ${when(dripped.answeredAt)}, then closed`);

    details.push(
      `a slowloris (a header line every 200 ms; HEADERS_TIMEOUT_MS ${n(headersMs)}): ${statusOf(loris)} after ${when(loris.answeredAt)}; closed after ${when(loris.closedAt)}`,
    );
    if (statusOf(loris) !== 408 || loris.closedAt === undefined || loris.closedAt < headersMs || loris.closedAt > headersMs + 3_000)
      problems.push(`the slowloris was not answered 408 and closed at the header timeout (${statusOf(loris)}, closed ${when(loris.closedAt)})`);
    answered.push(`a slowloris 408 and closed at ${when(loris.closedAt)}`);

    const silentLines = textOf(silent)
      .split('\r\n\r\n')
      .slice(1)
      .join('')
      .split('\n')
      .filter((l) => l.includes('"line"'));
    const silentId = /"decisionId":"([0-9a-f-]{36})"/.exec(silentLines[0] ?? '')?.[1];
    if (silentId) given.push(silentId);
    details.push(
      `a batch whose client sent one line and fell silent (IDLE_TIMEOUT_MS ${n(idleMs)}): ${statusOf(silent)}, ${silentLines.length} answer line (${silentId ? 'a decision' : 'no decision'}); closed after ${when(silent.closedAt)}`,
    );
    if (statusOf(silent) !== 200 || !silentId) problems.push("the silent batch's one line was not decided");
    if (silent.closedAt === undefined || silent.closedAt < idleMs || silent.closedAt > idleMs + 3_000)
      problems.push(`the silent batch's connection was not closed at the idle timeout (closed ${when(silent.closedAt)})`);
    details.push(`a connection that never sent a byte: ${statusOf(mute) ? `answered ${statusOf(mute)}, ` : ''}closed after ${when(mute.closedAt)}`);
    if (mute.closedAt === undefined) problems.push('a connection that never sent a byte was never closed');
    answered.push(`a silent batch closed at ${when(silent.closedAt)}, a mute connection at ${when(mute.closedAt)}`);

    await light(cluster, loop);
    loop = undefined;
  } finally {
    if (loop) await loop.stop();
    await cluster.remove();
  }

  // 5. More connections than the workers take, on a service of its own (its other timeouts the defaults).
  const capped = await FaultCluster.start({ env: { MAX_CONNECTIONS_PER_WORKER: String(maxConnections) } });
  try {
    loop = loadLoop(capped);
    await pause(200);
    const surplus = 50;
    const opened: Raw[] = [];
    for (let i = 0; i < maxConnections * capped.workers + surplus; i += 1) {
      opened.push(rawConnection(capped.port));
      // A few at a time, so the flood does not fill the listen backlog instead.
      if (i % 50 === 49) await pause(10);
    }
    await pause(1_000);
    const closed = opened.filter((r) => r.closedAt !== undefined);
    const held = opened.filter((r) => r.closedAt === undefined);
    const closedSilently = closed.filter((r) => r.received.length === 0).length;
    // A light evaluation on a connection the service holds (one opened during the flood and kept).
    const target = held[held.length - 1];
    let onHeld: { status: number; id?: string } = { status: 0 };
    if (target) {
      target.socket.write(
        `POST /v1/rulesets/${LIGHT.ruleSet}/evaluate HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${bearer(capped.keys.caseworker)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(LIGHT.body)}\r\n\r\n${LIGHT.body}`,
      );
      await until(() => textOf(target).includes('\r\n\r\n') && textOf(target).trimEnd().endsWith('}'), 5_000);
      const id = headerOf(target, 'X-Decision-Id');
      onHeld = { status: statusOf(target), id };
      if (id) given.push(id);
    }
    // A new connection, once places are freed, is served again.
    for (const r of held.slice(0, 10)) r.socket.destroy();
    await pause(300);
    const after = await capped.evaluate(LIGHT.ruleSet, LIGHT.body);
    const afterId = decisionIdOf(after);
    if (afterId) given.push(afterId);
    for (const r of opened) r.socket.destroy();

    details.push(
      `${n(opened.length)} connections opened against a cap of ${n(maxConnections)} per worker (${capped.workers} workers, 2 of the places taken by the light evaluations): ${n(held.length)} held, ${n(closed.length)} closed at once (${n(closedSilently)} with nothing sent); a light evaluate on a held connection ${onHeld.status}; a new connection once 10 were freed: ${after.status}`,
    );
    if (closed.length < surplus) problems.push(`only ${closed.length} of the ${surplus} connections past the cap were closed`);
    if (held.length > maxConnections * capped.workers)
      problems.push(`${held.length} connections were held, more than the cap of ${maxConnections} per worker allows`);
    if (closedSilently !== closed.length) problems.push('a connection past the cap was answered rather than closed');
    if (onHeld.status !== 200) problems.push(`a light evaluate on a held connection answered ${onHeld.status}`);
    if (after.status !== 200) problems.push(`a light evaluate on a new connection, once places were freed, answered ${after.status}`);
    answered.push(`on a held connection at the cap ${onHeld.status}`);
    refused.push(`${n(closed.length)} of ${n(opened.length)} connections past the cap (closed at once)`);

    await light(capped, loop);
    loop = undefined;
  } finally {
    if (loop) await loop.stop();
    await capped.remove();
  }

  const lightTotal = lightStatuses.join('; ');
  if (missing > 0) problems.push(`${missing} decisions answered 200 are not in the log at its path after a restart`);
  return {
    fault: 'slow and greedy clients: a huge Content-Length, a drip-fed body, a slowloris, a silent client, too many connections',
    answered: `${answered.join('; ')}; light evaluate ${lightTotal}`,
    refused: `bodies past the limit, unread; the drip-fed, slowloris and silent connections, closed; ${refused.join('; ')}`,
    logHolds: `${n(checked - missing)} of ${n(checked)} decisions answered 200 (light evaluations, the silent batch's line, the evaluates at the cap), after a restart`,
    problems,
    details,
  };
}
