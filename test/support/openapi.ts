// Checks a response against the OpenAPI document the service publishes: the route, the status, the content type, the body.
//
// test/support/app.ts calls check() for every response every test app gives, so it is built for
// that: each schema is compiled once, on first use, and cached by its place in the document (a
// schema shared by several responses compiles once); a body that is not what the document says is
// a problem reported, never an exception.
import type { OutgoingHttpHeader, OutgoingHttpHeaders } from 'node:http';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { PROBLEM_JSON, openApiDocument } from '../../src/api/openapi';

export interface ResponseChecker {
  /** What is wrong with this response by the document; empty when it matches. */
  check(method: string, url: string, status: number, headers: Readonly<OutgoingHttpHeaders>, body: string): string[];
}

type Node = Record<string, unknown>;

/** The Ajv key the document is added under: every schema is compiled as a $ref to its place in it. */
const DOCUMENT_ID = 'https://ps-decisions.example/openapi.json';
const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
/** Problems listed per response, at most: a wrong body usually fails the same way many times. */
const MAX_REPORTED = 5;

interface PathTemplate {
  template: string;
  pattern: RegExp;
  item: Node;
  /** Templated segments: a concrete path is matched before a templated one (OpenAPI, Paths Object). */
  variables: number;
}

const isNode = (value: unknown): value is Node => value !== null && typeof value === 'object' && !Array.isArray(value);
const escapeToken = (token: string): string => token.replace(/~/g, '~0').replace(/\//g, '~1');
/** A JSON pointer as a URI fragment, as Ajv reads it back (percent-decoding, then unescaping). */
const fragmentOf = (pointer: readonly string[]): string => pointer.map((token) => `/${encodeURIComponent(escapeToken(token))}`).join('');

function templateOf(template: string, item: Node): PathTemplate {
  let variables = 0;
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => {
      if (/^\{[^}]+\}$/.test(part)) {
        variables += 1;
        return '[^/]+';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return { template, pattern: new RegExp(`^${source}$`), item, variables };
}

/** The media type alone, lower case: "application/json; charset=utf-8" → "application/json". */
/** A header's value as it is sent: a list of values joined. */
const headerText = (value: OutgoingHttpHeader): string => (Array.isArray(value) ? value.join(', ') : String(value));

function mediaTypeOf(value: unknown): string | undefined {
  const header = Array.isArray(value) ? value[0] : value;
  if (typeof header !== 'string') return undefined;
  return header.split(';')[0]?.trim().toLowerCase() || undefined;
}

/** The documented media type a response's content type falls under: exact, then "type/*", then "*\/*". */
function documentedMedia(content: Node, mediaType: string): string | undefined {
  const keys = Object.keys(content);
  const lower = keys.map((k) => k.toLowerCase());
  const exact = lower.indexOf(mediaType);
  if (exact !== -1) return keys[exact];
  const range = lower.indexOf(`${mediaType.split('/')[0]}/*`);
  if (range !== -1) return keys[range];
  const any = lower.indexOf('*/*');
  return any === -1 ? undefined : keys[any];
}

const isJsonMedia = (mediaType: string): boolean => mediaType === 'application/json' || mediaType.endsWith('+json');

/** The field an error says is one too many (additionalProperties), as " (name)". */
function extraField(e: ErrorObject): string {
  return e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: unknown }).additionalProperty)})` : '';
}

/**
 * The document as Ajv reads it: each discriminator without its `mapping`, which Ajv does not read (it finds the branch
 * from each branch's `const`, which the mapping repeats for generators).
 */
export function forAjv<T>(document: T): T {
  return JSON.parse(JSON.stringify(document), (key, value: unknown) => {
    if (key === 'discriminator' && isNode(value)) return { propertyName: value.propertyName };
    return value;
  }) as T;
}

function describeErrors(all: readonly ErrorObject[] | null | undefined, where: string): string[] {
  const errors = all ?? [];
  const lines = errors.slice(0, MAX_REPORTED).map((e) => `${where}${e.instancePath || '/'} ${e.message ?? 'is invalid'}${extraField(e)}`);
  const more = errors.length - lines.length;
  if (more > 0) lines.push(`${where}… and ${more} more`);
  return lines;
}

/**
 * A checker for `document` (by default the one /openapi.json serves). Path templates are matched
 * against the concrete path (the query ignored); the response is the one documented for the status,
 * else its `NXX` range, else `default`. An NDJSON body is checked line by line against the line schema
 * its `schema` names, `contentSchema.items` (see ndjson in src/api/openapi.ts).
 *
 * One answer is documented once for every route rather than under each: a path or method the
 * document does not list must be answered 404 not-found (as app.ts's fallback does). Any other
 * answer to such a request is a problem, as is a status or content type a listed route does not document.
 */
export function responseChecker(document: object = openApiDocument()): ResponseChecker {
  const doc = document as Node;
  // discriminator: an answer holding an outcome is checked against the branch its ruleSet names, and that branch's faults reported.
  const ajv = new Ajv2020({ strict: false, allErrors: true, discriminator: true });
  addFormats(ajv);
  // The whole document is added once; each schema compiles as a $ref to its place, so its own $refs
  // (#/components/schemas/…) resolve against the document as they would for any OpenAPI tool.
  ajv.addSchema(forAjv(doc), DOCUMENT_ID);

  const templates = Object.entries(isNode(doc.paths) ? doc.paths : {})
    .filter((entry): entry is [string, Node] => isNode(entry[1]))
    .map(([template, item]) => templateOf(template, item))
    .sort((a, b) => a.variables - b.variables);

  const validators = new Map<string, ValidateFunction>();
  const validatorAt = (pointer: readonly string[]): ValidateFunction => {
    const fragment = fragmentOf(pointer);
    let validate = validators.get(fragment);
    if (!validate) {
      validate = ajv.compile({ $ref: `${DOCUMENT_ID}#${fragment}` });
      validators.set(fragment, validate);
    }
    return validate;
  };

  /** Follows a local $ref (a response or header kept under components), returning the object and its place. */
  const resolve = (node: unknown, pointer: string[]): { node: Node; pointer: string[] } | undefined => {
    for (let hops = 0; hops < 10; hops += 1) {
      if (!isNode(node)) return undefined;
      const target = node.$ref;
      if (typeof target !== 'string') return { node, pointer };
      if (!target.startsWith('#/')) return undefined;
      pointer = target
        .slice(2)
        .split('/')
        .map((t) => decodeURIComponent(t).replace(/~1/g, '/').replace(/~0/g, '~'));
      node = pointer.reduce<unknown>((at, token) => (isNode(at) ? at[token] : undefined), doc);
    }
    return undefined;
  };

  /** The one answer a request the document does not list may get: a 404 not-found problem. */
  const undocumented = (what: string, status: number, headers: Readonly<OutgoingHttpHeaders>, body: string): string[] => {
    if (status !== 404) return [`${what} (answered ${status})`];
    if (mediaTypeOf(headers['content-type']) !== PROBLEM_JSON)
      return [`${what}; it must be answered 404 ${PROBLEM_JSON}, not ${headerText(headers['content-type'] ?? 'no content type')}`];
    const problem = parse(body);
    if (!problem.ok) return [`${what}; its 404 body is not JSON`];
    const validate = validatorAt(['components', 'schemas', 'Problem']);
    if (!validate(problem.value)) return describeErrors(validate.errors, 'body');
    const code = (problem.value as Node).code;
    return code === 'not-found' ? [] : [`${what}; its 404 problem's code is ${JSON.stringify(code)}, not "not-found"`];
  };

  const checkBody = (pointer: string[], media: Node, mediaType: string, body: string): string[] => {
    // A sequence of JSON texts, one a line (JSON Schema's contentMediaType: NDJSON, contentSchema: a list of lines).
    const schema = media.schema as Node | undefined;
    if (schema?.contentMediaType === 'application/x-ndjson') {
      const validate = validatorAt([...pointer, 'schema', 'contentSchema', 'items']);
      const problems: string[] = [];
      const lines = body.split('\n');
      // The stream ends with a newline: the text after it is no line.
      if (lines[lines.length - 1] === '') lines.pop();
      for (let i = 0; i < lines.length && problems.length < MAX_REPORTED; i += 1) {
        const line = parse(lines[i] as string);
        if (!line.ok) problems.push(`line ${i + 1} is not JSON`);
        else if (!validate(line.value)) problems.push(...describeErrors(validate.errors, `line ${i + 1}: `).slice(0, MAX_REPORTED - problems.length));
      }
      return problems;
    }
    if (media.schema === undefined) return [];
    const validate = validatorAt([...pointer, 'schema']);
    let value: unknown = body;
    if (isJsonMedia(mediaType)) {
      const parsed = parse(body);
      if (!parsed.ok) return [`the ${mediaType} body is not JSON`];
      value = parsed.value;
    }
    return validate(value) ? [] : describeErrors(validate.errors, 'body');
  };

  const checkHeaders = (response: Node, pointer: string[], headers: Readonly<OutgoingHttpHeaders>): string[] => {
    if (!isNode(response.headers)) return [];
    const problems: string[] = [];
    for (const [name, declared] of Object.entries(response.headers)) {
      // OpenAPI: a Content-Type header definition is ignored; the content map says it.
      if (name.toLowerCase() === 'content-type') continue;
      const header = resolve(declared, [...pointer, 'headers', name]);
      if (!header) continue;
      const value = headers[name.toLowerCase()];
      if (value === undefined) {
        if (header.node.required === true) problems.push(`the required header ${name} is missing`);
        continue;
      }
      if (header.node.schema === undefined) continue;
      const validate = validatorAt([...header.pointer, 'schema']);
      if (!validate(headerText(value))) problems.push(...describeErrors(validate.errors, `header ${name}: `));
    }
    return problems;
  };

  const check = (method: string, url: string, status: number, rawHeaders: Readonly<OutgoingHttpHeaders>, body: string): string[] => {
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(rawHeaders ?? {})) headers[name.toLowerCase()] = value;
    const verb = method.toLowerCase();
    // As the app routes it (strict routing): a trailing slash makes another path, one the document does not list.
    const requestPath = url.split(/[?#]/)[0] || '/';
    const where = `${method.toUpperCase()} ${requestPath}`;

    const matched = templates.find((t) => t.pattern.test(requestPath));
    // A HEAD is answered as its GET, without the body.
    const operationName = matched && !isNode(matched.item[verb]) && verb === 'head' ? 'get' : verb;
    const operation = matched && METHODS.has(operationName) ? matched.item[operationName] : undefined;
    if (!matched || !isNode(operation)) {
      const what = matched ? `${where}: the document lists no ${method.toUpperCase()} for ${matched.template}` : `${where}: the document lists no such path`;
      return undocumented(what, status, headers, body);
    }

    const operationPointer = ['paths', matched.template, operationName];
    const responses = isNode(operation.responses) ? operation.responses : {};
    const statusKey = [String(status), `${String(status)[0]}XX`, 'default'].find((key) => key in responses);
    if (!statusKey)
      return [`${operationName.toUpperCase()} ${matched.template} does not document status ${status} (documents ${Object.keys(responses).join(', ')})`];
    const response = resolve(responses[statusKey], [...operationPointer, 'responses', statusKey]);
    if (!response) return [`${operationName.toUpperCase()} ${matched.template} ${statusKey}: the response cannot be resolved in the document`];

    const problems = checkHeaders(response.node, response.pointer, headers);
    const content = isNode(response.node.content) ? response.node.content : undefined;
    const contentType = headers['content-type'];
    if (!content) {
      if (body.length > 0) problems.push(`${status} is documented without a body, but one was sent (${headerText(contentType ?? 'no content type')})`);
      return problems;
    }
    const mediaType = mediaTypeOf(contentType);
    const documented = mediaType === undefined ? undefined : documentedMedia(content, mediaType);
    if (!documented) {
      problems.push(`content type ${headerText(contentType ?? '(none)')} is not documented for ${status} (documented: ${Object.keys(content).join(', ')})`);
      return problems;
    }
    if (verb === 'head') return problems;
    const media = content[documented];
    if (!isNode(media)) return problems;
    problems.push(...checkBody([...response.pointer, 'content', documented], media, mediaType as string, body));
    return problems;
  };

  return {
    check(method, url, status, headers, body) {
      try {
        return check(method, url, status, headers, typeof body === 'string' ? body : String(body));
      } catch (error) {
        // A fault in the checker (or a document it cannot compile) is reported, never thrown into the app's response.
        return [`the response could not be checked: ${(error as Error).message}`];
      }
    },
  };
}

function parse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}
