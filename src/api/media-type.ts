// The media types the POST routes take their bodies in: one source for the routes that check them and for
// /openapi.json that lists them (so what is listed is exactly what is taken), and the one 415 for any other.
import { DecisionError } from '../errors';

/** evaluate, impact and reproduce: one JSON document. Not application/*+json: the document lists application/json. */
export const JSON_MEDIA_TYPE = 'application/json';
/** evaluate-batch: one JSON object a line. */
export const NDJSON_MEDIA_TYPE = 'application/x-ndjson';

/**
 * The 415 for a body sent as a media type the route does not take: it names the Content-Type header, what it said, and
 * lists the types the route takes. `how`: what the route's body is, in words, for the detail.
 */
export function unsupportedMediaType(header: string | undefined, accepted: readonly string[], how = ''): DecisionError {
  const types = accepted.join(' or ');
  const got = header ? `Content-Type ${header}` : 'no Content-Type';
  return new DecisionError('unsupported-media-type', `Send the body as ${types}${how} (got ${got}). Accepted: ${accepted.join(', ')}.`, [
    { pointer: '', message: `header Content-Type must be ${types}` },
  ]);
}

/** The 415 for a charset the body cannot be read in, naming the header. */
export function unsupportedCharset(detail: string, accepted?: readonly string[]): DecisionError {
  return new DecisionError('unsupported-media-type', detail, [
    {
      pointer: '',
      message: accepted ? `header Content-Type's charset must be ${accepted.join(' or ')}` : "header Content-Type's charset is not one the body can be read in",
    },
  ]);
}
