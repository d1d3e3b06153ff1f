// JSON request bodies: express.json() (body-parser: the limit, charsets, gzip, deflate and br), with a check before it
// and one inside it; and the same strict JSON parsing for evaluate-batch's lines, which are read one by one (batch.ts).
import express, { type RequestHandler } from 'express';
import { DecisionError } from '../errors';
import { ValueCount } from '../facts/validate';
import { closeWhenAnswered } from './limits';
import { JSON_MEDIA_TYPE } from './media-type';

// JSON parsing as express.json() does it (body-parser 2, strict): only an object or an array at
// the top, a leading BOM dropped, and the same SyntaxError messages, so a batch line's 400 reads
// like an evaluate body's. JSON's whitespace is space, tab, line feed and carriage return.
const FIRST_NON_WHITESPACE = /^[ \t\n\r]*([^ \t\n\r]|$)/;

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

/** Parses a batch line as express.json() parses a body; throws its SyntaxError. */
export function parseStrictJson(text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body[0] !== '{' && body[0] !== '[') {
    const first = FIRST_NON_WHITESPACE.exec(body)?.[1] || undefined;
    if (first !== '{' && first !== '[') throw strictSyntaxError(body, first);
  }
  return JSON.parse(body);
}

export const invalidJson = (error: unknown): DecisionError =>
  new DecisionError('invalid-json', `The body is not valid JSON: ${(error as Error).message}`, [{ pointer: '', message: 'is not valid JSON' }]);

/**
 * express.json() with the service's limit, for application/json (the routes take no other: media-type.ts), and:
 *
 * - a Content-Length past the limit is a 413 at once, and the connection is closed after it. body-parser reads (and
 *   discards) the whole declared body before it answers its 413, so `Content-Length: 99999999999` held the
 *   connection until the timeout.
 * - oneCase: the body is one case (evaluate, reproduce), so it can hold no more JSON values than the largest case.
 *   They are counted (ValueCount) in body-parser's `verify`, between reading and parsing: a body that holds more
 *   is refused before JSON.parse, which alone takes 50–120 ms over 1 MiB of tiny values, and before the schema
 *   check walks them. An impact body holds many cases and is not counted.
 */
export function jsonBody(limitBytes: number, options: { oneCase?: boolean } = {}): RequestHandler {
  const verify = options.oneCase
    ? (_req: unknown, _res: unknown, buffer: Buffer) => {
        const count = new ValueCount();
        if (!count.add(buffer)) throw count.refusal();
      }
    : undefined;
  const parse = express.json({ limit: limitBytes, type: JSON_MEDIA_TYPE, verify });
  return (req, res, next) => {
    const length = Number(req.headers['content-length']);
    if (length > limitBytes) {
      closeWhenAnswered(req, res);
      next(
        new DecisionError(
          'payload-too-large',
          `The body's Content-Length (${length}) passes the limit of ${limitBytes} bytes (${limitBytes / 1024 / 1024} MiB); it was not read.`,
        ),
      );
      return;
    }
    parse(req, res, next);
  };
}
