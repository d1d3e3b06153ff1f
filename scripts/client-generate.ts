// npm run client:generate: writes clients/typescript/src/schema.ts, the TypeScript types of the OpenAPI document the
// service serves at /openapi.json, with openapi-typescript's Node API. openApiDocument() in-process is that document (the
// route serves exactly it), for the shipped rule sets; `--from <url>` reads it from a running service's /openapi.json
// instead. With --stdout it prints the file instead of writing it: test/clients/schema.test.ts runs it so, against a
// started service, and compares. (In a process of its own: openapi-typescript's CommonJS build
// requires parse-json, which is ESM only; Node 20.19 and later load that, Jest's CommonJS runtime does not.)
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import openapiTS, { astToString, COMMENT_HEADER, type OpenAPI3, type OpenAPITSOptions } from 'openapi-typescript';
import { openApiDocument } from '../src/api/openapi';

export const REGENERATE = 'npm run client:generate';
export const SCHEMA_FILE = path.join(__dirname, '..', 'clients', 'typescript', 'src', 'schema.ts');

/**
 * Each option set on purpose (the rest are openapi-typescript's defaults, which suit: interfaces, string unions rather
 * than TS enums, the document's order, `additionalProperties: false` honoured).
 */
export const GENERATOR_OPTIONS: OpenAPITSOptions = {
  // Its default (true) makes every property that has a `default` required, unless the schema sits under a path's
  // parameters or requestBody. Ours are request schemas in components (EvaluateRequest → CaseFacts): referral.urgent,
  // customer.incidents and some 40 more have defaults the service fills in when left out, so the default would make a
  // caller send every one of them. With false a property is required only when the schema's `required` says so.
  defaultNonNullable: false,
  // An object schema with no properties (the /openapi.json answer's `info` and `paths`, `{ type: 'object' }`) is any
  // object, not an empty one: the default (false) types it Record<string, never>, which says every field is `never`.
  emptyObjectsUnknown: true,
  // The document is validated (and linted) by the service's own tests; the generator's Redocly pass needs not print.
  silent: true,
};

/** The file's text: a header saying where it comes from, then openapi-typescript's output for the served document. */
export async function clientSchemaSource(document: object = openApiDocument()): Promise<string> {
  // Through unknown: openapi-typescript's ServerObject makes `variables` required, which OpenAPI leaves optional.
  const ast = await openapiTS(document as unknown as OpenAPI3, GENERATOR_OPTIONS);
  return `${COMMENT_HEADER}// Generated from the document /openapi.json serves (src/api/openapi.ts) by \`${REGENERATE}\`: do not edit.\n\n${astToString(ast)}`;
}

/** The document a running service serves, when `--from <its /openapi.json URL>` is given; else the one built in-process. */
async function documentAsked(): Promise<object | undefined> {
  const at = process.argv.indexOf('--from');
  if (at < 0) return undefined;
  const url = process.argv[at + 1];
  if (!url) throw new Error("--from needs the URL of a service's /openapi.json");
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return (await res.json()) as object;
}

if (require.main === module) {
  void documentAsked()
    .then((document) => clientSchemaSource(document))
    .then((source) => {
      if (process.argv.includes('--stdout')) {
        process.stdout.write(source);
        return;
      }
      writeFileSync(SCHEMA_FILE, source);
      process.stdout.write(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)} (${source.length} bytes)\n`);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
