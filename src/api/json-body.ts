// The evaluate route's body: plain UTF-8 JSON with a length read directly; anything else through express.json().
//
// Hot path: body-parser costs a quarter of a bare Express route's throughput (content-type
// parsing, charset and encoding handling, raw-body's stream plumbing), measured under autocannon
// (npm run bench, section e). What caseworker tools send, application/json in UTF-8 with a
// Content-Length within the limit and no Content-Encoding, is read here in a few lines, with the
// same limit and the same errors; every other request (compressed, chunked, another charset)
// goes to express.json() exactly as before. A Content-Length past the limit is refused from the
// header, unread (see jsonBody()).
import express, { type RequestHandler } from 'express';
import { DecisionError } from '../errors';
import { ValueCount } from '../facts/validate';
import { closeWhenAnswered } from './limits';

const PLAIN_JSON = /^application\/json\s*(;\s*charset="?utf-8"?\s*)?$/i;

// JSON parsing as express.json() does it (body-parser 2, strict): only an object or an array at
// the top, a leading BOM dropped, and the same SyntaxError messages, so a batch line's 400 and a
// body read by jsonBody() read like express.json's.
const FIRST_NON_WHITESPACE = /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d]|$)/;

function strictSyntaxError(text: string, char: string | undefined): SyntaxError {
  const index = char === undefined ? -1 : text.indexOf(char);
  const partial = index === -1 ? '' : text.slice(0, index) + '#'.repeat(text.length - index);
  try {
    JSON.parse(partial);
    return new SyntaxError('strict violation');
  } catch (error) {
    return new SyntaxError((error as Error).message.replace(/#+/g, (placeholder) => text.slice(index, index + placeholder.length)));
  }
}

/** Parses a body (or a batch line) as express.json() would; throws its SyntaxError. */
export function parseStrictJson(text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body[0] !== '{' && body[0] !== '[') {
    const first = FIRST_NON_WHITESPACE.exec(body)?.[1] || undefined;
    if (first !== '{' && first !== '[') throw strictSyntaxError(body, first);
  }
  return JSON.parse(body);
}

export const invalidJson = (error: unknown): DecisionError => new DecisionError('invalid-json', `The body is not valid JSON: ${(error as Error).message}`, [{ pointer: '', message: 'is not valid JSON' }]);

/** An error as body-parser would raise it, for the app's error handler to report the same way. */
function bodyError(type: string, message: string, status: number): Error {
  return Object.assign(new Error(message), { type, status, expose: true });
}

/**
 * A JSON body parser with express.json()'s behaviour and limit, fast for the plain case. One difference: a
 * Content-Length past the limit is a 413 at once, and the connection is closed after it. body-parser reads (and
 * discards) the whole declared body before it answers its 413, so `Content-Length: 99999999999` held the connection
 * until the timeout.
 */
export function jsonBody(limitBytes: number, options: { oneCase?: boolean } = {}): RequestHandler {
  // oneCase: the body is one case (evaluate, reproduce), so it can hold no more JSON values than the largest case;
  // counted as it arrives (ValueCount), a body that holds more is refused before JSON.parse, which alone takes
  // 50–120 ms over 1 MiB of tiny values. An impact body holds many cases and is not counted.
  const verify = options.oneCase
    ? (_req: unknown, _res: unknown, buffer: Buffer) => {
        const count = new ValueCount();
        if (!count.add(buffer)) throw count.refusal();
      }
    : undefined;
  const fallback = express.json({ limit: limitBytes, type: ['application/json', 'application/*+json'], verify });
  return (req, res, next) => {
    const encoding = req.headers['content-encoding'];
    const length = Number(req.headers['content-length']);
    if (length > limitBytes) {
      closeWhenAnswered(req, res);
      next(new DecisionError('payload-too-large', `The body's Content-Length (${length}) passes the limit of ${limitBytes} bytes (${limitBytes / 1024 / 1024} MiB); it was not read.`));
      return;
    }
    const plain = (encoding === undefined || encoding === 'identity')
      && PLAIN_JSON.test(req.headers['content-type'] ?? '')
      && req.headers['transfer-encoding'] === undefined
      && Number.isSafeInteger(length) && length > 0 && length <= limitBytes;
    if (!plain) {
      fallback(req, res, next);
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    const count = options.oneCase ? new ValueCount() : undefined;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      req.removeListener('data', onData);
      if (error) {
        next(error);
        return;
      }
      try {
        req.body = parseStrictJson(Buffer.concat(chunks, received).toString('utf8'));
      } catch (parseError) {
        next(invalidJson(parseError));
        return;
      }
      next();
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > length) finish(bodyError('request.size.invalid', 'request size did not match content length', 400));
      else if (count && !count.add(chunk)) {
        // Not a case: the rest is not read, and the connection is closed after the answer.
        closeWhenAnswered(req, res);
        finish(count.refusal());
      } else chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => finish(received === length ? undefined : bodyError('request.size.invalid', 'request size did not match content length', 400)));
    req.on('aborted', () => finish(bodyError('request.aborted', 'request aborted', 400)));
    req.on('error', (error) => finish(error));
  };
}
