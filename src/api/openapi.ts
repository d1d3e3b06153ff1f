// The published contract: an OpenAPI 3.1 document of every route, who may call it, and exactly what it answers.
//
// Built from the code's own schemas where they exist (the fact vocabulary, the rule-file schema, the
// error catalogue, the role table), so the document and what the service checks cannot drift apart. Where the
// service's output is fixed by code, the schemas close it (additionalProperties: false): every
// response a test app gives is validated against this document (test/support/openapi.ts), so a field
// added, renamed or dropped without the document fails the tests instead of surprising a caseworker tool.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_CATALOGUE, MAX_LISTED_ISSUES, type ErrorCode } from '../errors';
import { caseFactsSchema, evaluateRequestSchema } from '../facts/schema';
import { conditionSchema, interpretation, ruleFileSchema } from '../loader/rule-file-schema';
import type { RuleSetModule } from '../engine/compile';
import { RULE_SET_MODULES, registryGeneration } from '../rulesets';
import { rolesThatMay, type Permission } from './access';
import { DEFAULT_BATCH_LIMITS } from './limits';
import { JSON_MEDIA_TYPE, NDJSON_MEDIA_TYPE } from './media-type';
import EXAMPLES from '../rulesets/openapi-examples.json';
import { PROBLEM_TYPE_BASE } from './problem';

/** The document as this module builds it: loose where OpenAPI is open, typed where test/support/openapi.ts walks it. */
export interface OpenApiDocument {
  openapi: '3.1.0';
  servers: { url: string; description: string }[];
  jsonSchemaDialect: string;
  info: { title: string; version: string; description: string };
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown>; examples: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

type Schema = Record<string, unknown>;

export const PROBLEM_JSON = 'application/problem+json';
/**
 * An NDJSON body. OpenAPI 3.1's Media Type Object has no place for the schema of each line of a
 * sequential media type (3.2 adds `itemSchema`). So the body's `schema` says what it is as a whole, in
 * JSON Schema's own words: a string whose content (`contentMediaType`) is NDJSON, the lines read in
 * order being a list (`contentSchema`) of `line`. A generator or linter follows the line's $ref as
 * any other; test/support/openapi.ts validates each line against `contentSchema.items`. When the
 * document moves to 3.2, `line` becomes `itemSchema`.
 */
const ndjson = (line: Schema): Schema => ({ schema: { type: 'string', contentMediaType: NDJSON_MEDIA_TYPE, contentSchema: { type: 'array', items: line } } });

/** Kept in step with app.ts's MAX_IMPACT_CASES by hand: app.ts imports this module, so importing it back would read it before it is set. */
const MAX_IMPACT_CASES = 10_000;

/** The package's version, found from this file whether it runs from src/ or dist/src/ (as defaultRulesDirectory finds rules/). */
function packageVersion(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i += 1) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'ps-decision-service' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // No package.json here (dist/ has none): look further up.
    }
    dir = path.dirname(dir);
  }
  throw new Error('package.json of ps-decision-service not found above ' + __dirname);
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

/**
 * A schema from elsewhere in the code, embedded in this document: its `$id` dropped (within the
 * document a schema is found by its place, #/components/schemas/…, which every OpenAPI tool
 * resolves; embedded `$id`s many do not) and its `$ref`s pointed at their new places. No schema it
 * is used on has a property named `$id` or `$ref`, so every such key is a keyword.
 */
function embed(schema: unknown, refs: Readonly<Record<string, string>>): unknown {
  if (Array.isArray(schema)) return schema.map((item) => embed(item, refs));
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$id') continue;
    copy[key] = key === '$ref' && typeof value === 'string' ? (refs[value] ?? value) : embed(value, refs);
  }
  return copy;
}

const REFS = {
  [caseFactsSchema.$id]: '#/components/schemas/CaseFacts',
  [conditionSchema.$id]: '#/components/schemas/RuleCondition',
};

const string: Schema = { type: 'string' };
const strings: Schema = { type: 'array', items: string };
const date: Schema = { type: 'string', format: 'date', description: 'A calendar date, YYYY-MM-DD' };
const dateOrNull = (description: string): Schema => ({ type: ['string', 'null'], format: 'date', description });
const stringOrNull = (description: string): Schema => ({ type: ['string', 'null'], description });
const integer = (minimum = 0): Schema => ({ type: 'integer', minimum });
/** An object whose fields are exactly these, each required unless listed as optional. */
const closed = (properties: Record<string, Schema>, optional: readonly string[] = [], extra: Schema = {}): Schema => ({
  type: 'object',
  additionalProperties: false,
  required: Object.keys(properties).filter((name) => !optional.includes(name)),
  properties,
  ...extra,
});
const mapOf = (values: Schema, description: string): Schema => ({ type: 'object', additionalProperties: values, description });

const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

// ——— Schemas ———

const ruleItem = ruleFileSchema.properties.rules.items;
const ruleFile = ruleFileSchema.properties;

/** What every decision's answer opens with, explained or summarised: the rule set, the deciding version and its period, the date, the evaluator. */
const decisionHead: Record<string, Schema> = {
  ruleSet: ref('RuleSetName'),
  version: ref('RuleVersion'),
  effective: {
    ...closed({ from: dateOrNull('effectiveFrom; null: from the beginning'), to: dateOrNull('effectiveTo; null: until further notice') }),
    description: 'The period the deciding version is in force',
  },
  asOf: date,
  evaluator: ref('Evaluator'),
};

/** An answer's `outcome` field: any value here, its shape given by the branch its ruleSet selects (byRuleSet). */
const outcomeField = (description: string): Schema => ({ description });

/**
 * An object holding a rule set's outcome (`ruleSet` and `outcome` among `properties`): exactly those fields, and one of
 * the registered rule sets' branches (`union`: a $ref to each `<Name>Answer`, `{ ruleSet: { const: <name> }, outcome:
 * <its outcome schema> }`, with the discriminator that maps each name to its branch). So a validator holds the outcome to
 * its rule set's schema (and, reading the discriminator, reports that branch's faults alone), and a generated client
 * narrows `outcome` by `ruleSet`: the field here is of no type (unknown), the branch's is the rule set's outcome.
 */
function byRuleSet(union: Schema, properties: Record<string, Schema>, optional: readonly string[], description: string): Schema {
  return closed(properties, optional, { description, ...union });
}

/** A decision's fields, as decision-json.ts writes them; with `decisionId` first when the decision was recorded. */
function decisionSchema(recorded: boolean, description: string, union: Schema): Schema {
  const id: Record<string, Schema> = recorded ? { decisionId: ref('DecisionId') } : {};
  return byRuleSet(
    union,
    {
      ...id,
      ...decisionHead,
      outcome: outcomeField("The rule set's outcome; its shape follows ruleSet (one outcome schema per rule set in components.schemas)"),
      summary: ref('Summary'),
      defaultsApplied: {
        type: 'array',
        items: ref('DefaultApplied'),
        description:
          "Each fact the request left out that the deciding version takes to have a value (its rule file's factDefaults), with that value: empty when none was",
      },
      unconfirmedInterpretations: {
        type: 'array',
        items: ref('UnconfirmedInterpretation'),
        description:
          "Each reading of the procedure this decision relied on that policy staff have not confirmed (the rule file's interpretations): on a rule weighed, on a parameter or derived fact a weighed rule's conditions or the outcome read, or on a fact default applied. Empty when every reading relied on is confirmed",
      },
      explanation: { type: 'array', items: ref('RuleExplanation'), description: 'One entry per rule weighed, in file order' },
      derivedFacts: mapOf({}, 'Each derived fact (counts, windows) the rules read → its value for this case'),
      parameters: mapOf({}, 'Each parameter of the deciding version → its value'),
    },
    // A re-run for an auditor carries the summary too: as the version, the facts and asOf give it, with the versions
    // loaded now (its holdsUntil compared with the one recorded).
    [],
    description,
  );
}

/** What a caseworker reads first (engine/summary.ts): on every decision explained in full or answered with ?explain=summary. */
const summarySchema: Schema = closed(
  {
    reasons: {
      type: 'array',
      description:
        "The few rules that decided the outcome, in plain words with the customer's values and dates: for a positive outcome the rules that made it, for a negative one each unmet criterion",
      items: closed({
        text: { type: 'string', description: 'The reason as a sentence' },
        rule: {
          type: 'string',
          description: 'The id of the rule it comes from (its entry in the explanation); ids joined by ", " when one line sums up several met rules',
        },
        citation: { type: 'string', description: 'The procedure the rule rests on: "<document>, <part>, <table>, Step <step>; …"' },
      }),
    },
    holdsUntil: dateOrNull(
      'The first day after asOf on which the same facts give a different verdict (the outcome without the dates reckoned from asOf itself), because time alone moves: an entry leaves a window, a restriction starts or ends, a wait passes, another version of the rules takes over. null when nothing changes before the end of the holiday calendar',
    ),
    changes: {
      type: 'array',
      description:
        'For each different verdict the facts could reach, the smallest change to facts a caseworker can act on or check that reaches it (never a parameter): each single change, then pairs of changes for a headline value no single change reaches. A verdict that keeps the answer and only adds to its lists (one more indicator for the same segment) is not given: it is a further reason for the same answer, not a path to another',
      items: closed({
        outcome: { type: 'object', description: 'The verdict the change reaches' },
        text: { type: 'string', description: 'The change and what it gives, in plain words' },
        patch: {
          type: 'array',
          description: "An RFC 6902 JSON Patch on the request's facts that makes the change",
          items: closed({ op: { enum: ['add', 'remove', 'replace'] }, path: { type: 'string' }, value: {} }, ['value']),
        },
      }),
    },
    assumed: {
      type: 'array',
      description: "Every fact the decision used that the request left out, with the value the deciding version's rule file takes it to be",
      items: closed({ fact: { type: 'string' }, value: {}, source: { type: 'string', description: 'Where that default is declared, and why' } }),
    },
  },
  [],
  {
    description: 'The decision for a person to act on: the reasons in a few lines, until when it holds, what would change it, what was assumed',
  },
);

const problemCodeRules: Schema[] = ERROR_CODES.map((code) => ({
  if: { properties: { code: { const: code } }, required: ['code'] },
  then: {
    properties: { type: { const: PROBLEM_TYPE_BASE + code }, title: { const: ERROR_CATALOGUE[code].title }, status: { const: ERROR_CATALOGUE[code].status } },
  },
}));

const problemSchema = closed(
  {
    type: { type: 'string', description: `${PROBLEM_TYPE_BASE}<code>` },
    title: { type: 'string', description: "The code's fixed title (ERROR_CATALOGUE)" },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string', description: 'What went wrong with this request, in a sentence a person can act on' },
    instance: { type: 'string', description: "The request's path and query" },
    code: ref('ErrorCode'),
    errors: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_LISTED_ISSUES,
      items: ref('ProblemItem'),
      description: `Every problem found, not the first, up to the first ${MAX_LISTED_ISSUES}: present when the problem is with particular places in the input`,
    },
    errorCount: {
      type: 'integer',
      minimum: 1,
      description: `How many problems were found, present when more than \`errors\` lists (the first ${MAX_LISTED_ISSUES}); the detail says so too`,
    },
  },
  ['instance', 'errors', 'errorCount'],
  {
    description: `RFC 9457 problem details, with a stable \`code\` and, where the input is at fault, \`errors\` naming each place by JSON pointer (the first ${MAX_LISTED_ISSUES}; \`errorCount\` says how many there were when more).`,
    dependentRequired: { errorCount: ['errors'] },
    allOf: problemCodeRules,
  },
);

const versionPeriod = closed({
  version: ref('RuleVersion'),
  effectiveFrom: dateOrNull('null: from the beginning'),
  effectiveTo: dateOrNull('null: until further notice'),
  file: { type: 'string', description: 'The rule file, relative to rules/' },
});

/** Where an interpretation sits in its rule file, and its name there: the question and the reading follow. */
const interpretationPlace: Record<string, Schema> = {
  on: { enum: ['parameter', 'derivedFact', 'factDefault', 'rule'], description: 'What the interpretation is marked on' },
  name: { type: 'string', description: 'The name of that parameter, derived fact or rule, or the fact path of that fact default' },
  question: { type: 'string', description: 'What the procedure leaves open, as a question a policy officer can answer' },
  chosen: { type: 'string', description: 'The reading the rules apply' },
};

/** A version's period, with the readings it applies that policy staff have not confirmed (GET /v1/rulesets/{name}). */
const versionWithInterpretations = closed({
  ...(versionPeriod.properties as Record<string, Schema>),
  unconfirmedInterpretations: {
    type: 'array',
    items: ref('UnconfirmedInterpretation'),
    description: 'Each interpretation of this version that policy staff have not confirmed, in file order',
  },
});

const ruleDefinition = embed(
  {
    ...ruleItem,
    required: [...ruleItem.required, 'citation'],
    properties: { ...ruleItem.properties, citation: { type: 'string', description: 'The sources as one line: "<document>, <part>, <table>, Step <step>; …"' } },
  },
  REFS,
) as Schema;

/** The rule file's own fields, as describeRuleSet (app.ts) passes them through. */
const fileField = (name: 'documents' | 'requires' | 'factDefaults' | 'parameters' | 'derivedFacts' | 'outcome'): Schema =>
  embed(ruleFile[name], REFS) as Schema;

/** A decision as evaluate and evaluate-batch answer it: explained, with ?explain=summary its summary, or with ?explain=none its outcome and fired rules. */
const decisionOrShort: Schema = { oneOf: [ref('Decision'), ref('SummaryDecision'), ref('ShortDecision')] };

/** A proposal's own fields, as every proposal answer opens (api/proposals.ts shown()). */
const proposalFields: Record<string, Schema> = {
  id: { type: 'string', format: 'uuid', description: "The proposal's id" },
  status: { enum: ['proposed', 'approved', 'rejected'], description: 'proposed until a second policy officer approves (publishing it) or rejects it' },
  ruleSet: ref('RuleSetName'),
  baseVersion: {
    ...ref('RuleVersion'),
    description: 'The newest version of the rule set when it was proposed: what it replaces, and must still be the newest at approval (else 409)',
  },
  effectiveFrom: { ...date, description: 'The day the new version takes effect (Sydney); the version it replaces ends the day before' },
  rationale: { type: 'string', description: 'Why, as the proposing officer wrote it' },
  proposedBy: { type: 'string', description: 'The id of the API key that proposed it' },
  proposedAt: { type: 'string', format: 'date-time' },
  decidedBy: stringOrNull('The id of the key that approved or rejected it; null while proposed'),
  decidedAt: { type: ['string', 'null'], format: 'date-time', description: 'When it was approved or rejected; null while proposed' },
  comment: stringOrNull("The approving or rejecting officer's comment; null while proposed"),
  publishedVersion: { type: ['string', 'null'], pattern: '^[0-9a-f]{16}$', description: 'The version approval published; null otherwise' },
};

/** A change between two versions of a rule file, as JSON pointers (authoring/proposals.ts jsonChanges). */
const jsonChange = closed(
  {
    pointer: { type: 'string', description: 'Where in the rule file (a JSON pointer)' },
    before: { description: 'The value before; absent when the member was added' },
    after: { description: 'The value after; absent when the member was removed' },
  },
  ['before', 'after'],
);

/** What an impact report holds: POST /v1/admin/impact's, and the draft impact's with its moves beside. */
const impactReportFields: Record<string, Schema> = {
  cases: integer(),
  unchanged: integer(),
  changed: { type: 'array', items: ref('CaseChange') },
  refused: {
    type: 'array',
    description: 'Cases refused (invalid facts, no version in force) under either rules, with the reason',
    items: closed({
      id: string,
      ruleSet: string,
      base: stringOrNull('Why the rules in force refused it'),
      changed: stringOrNull('Why the rules on disk refused it'),
    }),
  },
  counts: mapOf(integer(1), '"<ruleSet> <field>: <base> → <changed>" → how many cases'),
};

function proposalSchemas(): Record<string, Schema> {
  return {
    ProposalRequest: closed({
      ruleSet: { type: 'string', description: 'The rule set the new version is of (an unknown one is a 404 naming /ruleSet)' },
      file: {
        type: 'object',
        description:
          "The whole rule file of the new version, as drafted. Validated as the loader validates the rules folder (422 draft-invalid, each problem as the loader names it: <ruleSet>.json#<pointer>, with the line and column of the text as it would be published); its effectiveFrom is replaced by the proposal's",
      },
      effectiveFrom: { ...date, description: 'The day it takes effect: today in Sydney or later, and after the day the version it replaces took effect' },
      rationale: { type: 'string', minLength: 1, maxLength: 4000, description: 'Why the change is made' },
    }),
    DecisionComment: closed({ comment: { type: 'string', minLength: 1, maxLength: 4000, description: 'What was checked (approval), or why not (rejection)' } }),
    Proposal: closed(proposalFields),
    ProposalList: closed({ proposals: { type: 'array', items: ref('Proposal'), description: 'Newest first' } }),
    ProposalCreated: closed({
      ...proposalFields,
      problems: { type: 'array', maxItems: 0, description: 'None: a draft with problems is refused (422), not proposed' },
      impact: {
        ...ref('ImpactReport'),
        description: "The rule set's fixtures decided by the version it replaces and by the draft (both as if in force on the fixture's asOf)",
      },
    }),
    ProposalDetail: closed({
      ...proposalFields,
      file: { type: 'object', description: 'The draft rule file, as proposed' },
      impact: ref('ImpactReport'),
    }),
    ProposalApproved: closed({
      ...proposalFields,
      published: closed({
        version: ref('RuleVersion'),
        file: { type: 'string', description: 'The rule file the new version was written to, in the rules folder' },
        ended: { type: 'string', description: 'The rule file the version it replaces was moved to, its effectiveTo the day before' },
        removed: { ...strings, description: "Rule files removed (the replaced version's own, when it was not <ruleSet>.json)" },
      }),
    }),
    JsonChange: jsonChange,
    DraftImpactRequest: closed(
      {
        file: {
          type: 'object',
          description:
            'The whole rule file of the draft (a rule file of the rule set named in the path). Checked as the loader checks a rule file (422 draft-invalid, each problem as <ruleSet>.json#<pointer> with the line and column of the text as publishing would write it)',
        },
        backlog: closed(
          {
            format: { enum: ['ndjson', 'csv'] },
            text: {
              type: 'string',
              description:
                "The file's text. NDJSON: one case a line, { id?, ruleSet?, asOf?, facts } or the facts themselves, read as `ps-rules diff --cases` reads them (asOf defaults to today in Sydney). CSV: a header row, each row converted to facts by the triage mapping and decided as of today",
            },
            mapping: {
              type: 'object',
              description:
                "CSV only: the triage mapping from the export's columns to facts; default the one shipped beside the fixtures (fixtures/csv/backlog-mapping.json)",
            },
          },
          ['mapping'],
          { description: 'A backlog the officer uploads, to see what the draft would change in it' },
        ),
        logged: closed({ limit: { ...integer(1), maximum: 10_000, description: 'How many of the most recent decisions (default 1,000)' } }, ['limit'], {
          description:
            "Measure the draft on the rule set's most recent decisions whose facts the log kept (DECISION_LOG_FACTS=keep), each decided again as of its own asOf; a log that keeps only digests gives none",
        }),
      },
      ['backlog', 'logged'],
    ),
    OutcomeMove: closed({
      ruleSet: ref('RuleSetName'),
      field: { type: 'string', description: 'The outcome field' },
      from: { description: 'Its value under the version in force' },
      to: { description: 'Its value under the draft' },
      count: integer(1),
      text: { type: 'string', description: 'In words: "14 cases move from route direct to route standard"' },
    }),
    DraftImpactFixtures: closed({
      ...impactReportFields,
      moves: { type: 'array', items: ref('OutcomeMove'), description: 'The changed cases counted by field and values, most first' },
      broken: {
        type: 'array',
        description: 'Fixtures the version in force decides and passes that the draft, in its place, fails: each with what it expects and what the draft gives',
        items: closed({
          fixture: { type: 'string', description: 'Its file in fixtures/<ruleSet>/' },
          note: string,
          differences: { type: 'array', items: closed({ field: string, expected: {}, actual: {} }, ['expected', 'actual']) },
        }),
      },
    }),
    DraftImpactBacklog: closed({
      ...impactReportFields,
      moves: { type: 'array', items: ref('OutcomeMove'), description: 'The changed cases counted by field and values, most first' },
      unread: {
        type: 'array',
        description:
          'Lines or rows that could not be read as a case (not JSON, a CSV cell the mapping refuses, a record for another rule set), each with its line number',
        items: closed({ line: integer(), problem: string }),
      },
    }),
    DraftImpactResult: closed(
      {
        ruleSet: ref('RuleSetName'),
        baseVersion: { ...ref('RuleVersion'), description: 'The newest version, which the draft would replace' },
        draftVersion: { ...ref('RuleVersion'), description: 'The version the draft is, as drafted' },
        problems: { type: 'array', maxItems: 0, description: 'None: a draft with problems is a 422' },
        fixtures: {
          ...ref('DraftImpactFixtures'),
          description: "The rule set's fixtures decided by the version in force and by the draft, both as if in force on the fixture's asOf",
        },
        backlog: { ...ref('DraftImpactBacklog'), description: 'The backlog sent, decided the same way' },
        logged: {
          ...ref('DraftImpactLogged'),
          description: "The log's recent decisions with kept facts, decided the same way (each case's id is its decisionId)",
        },
      },
      ['backlog', 'logged'],
    ),
    DraftImpactLogged: closed({
      ...impactReportFields,
      moves: { type: 'array', items: ref('OutcomeMove'), description: 'The changed cases counted by field and values, most first' },
    }),
    RuleSetHistory: closed({
      ruleSet: ref('RuleSetName'),
      versions: {
        type: 'array',
        description: 'Every version, oldest first',
        items: closed({
          version: ref('RuleVersion'),
          effectiveFrom: dateOrNull('null: from the beginning'),
          effectiveTo: dateOrNull('null: until further notice'),
          file: { type: 'string', description: 'The rule file, relative to rules/' },
          ruleFile: {
            type: 'object',
            description:
              "The version's rule file as written (descriptions with their {parameter} placeholders, not filled in as GET /v1/rulesets/{name} shows them): what a policy officer drafts the next version from",
          },
          proposal: {
            description: 'Who proposed and approved the version, when and why; null for a version not published by proposal',
            oneOf: [
              { type: 'null' },
              closed({
                id: { type: 'string', format: 'uuid' },
                proposedBy: string,
                proposedAt: { type: 'string', format: 'date-time' },
                approvedBy: string,
                approvedAt: { type: 'string', format: 'date-time' },
                rationale: string,
                comment: string,
              }),
            ],
          },
          diff: {
            type: 'array',
            items: ref('JsonChange'),
            description: 'What changed from the version before (its period apart, listed beside it); empty for the first',
          },
        }),
      },
    }),
  };
}

const schemas: Record<string, unknown> = {
  ErrorCode: { enum: ERROR_CODES, description: 'Every error the service reports (src/errors.ts, ERROR_CATALOGUE); the HTTP status follows the code' },
  Problem: problemSchema,
  Summary: summarySchema,
  ProblemItem: closed(
    {
      pointer: {
        type: 'string',
        description:
          'Where: a JSON pointer into the request (RFC 6901: "~" in a key written ~0, "/" ~1; "" for the whole), or for a rule file "<file>#<JSON pointer>"',
      },
      detail: { type: 'string' },
      file: { type: 'string', description: 'For a rule file: which file' },
      line: { type: 'integer', description: 'For a rule file: the line, 1-based' },
      column: { type: 'integer', description: 'For a rule file: the column, 1-based' },
    },
    ['file', 'line', 'column'],
    {
      // A pointer a client cannot follow is no help: into the request it must be a JSON pointer, with ~ and / escaped.
      // (Each conditional names the property it requires, so that a strict checker knows it is one: ajv's strictRequired,
      // Redocly's no-required-schema-properties-undefined.)
      if: { properties: { file: { type: 'string' } }, required: ['file'] },
      then: { properties: { pointer: { type: 'string', pattern: '^[^#]+#(/([^~/]|~[01])*)*$' } } },
      else: { properties: { pointer: { type: 'string', format: 'json-pointer' } } },
    },
  ),
  CaseFacts: embed(caseFactsSchema, REFS),
  EvaluateRequest: embed(evaluateRequestSchema, REFS),
  BatchRequestLine: embed(
    {
      ...evaluateRequestSchema,
      title: 'BatchRequestLine',
      properties: {
        id: { type: ['string', 'number'], description: "The client's own id for the line, echoed in its answer" },
        ...evaluateRequestSchema.properties,
      },
    },
    REFS,
  ),
  RuleVersion: {
    type: 'string',
    pattern: '^[0-9a-f]{16}$',
    description: 'The first 16 hex digits of the SHA-256 of the rule file and the holiday calendar: names the exact bytes that decided',
  },
  DecisionId: { type: 'string', format: 'uuid', description: "The decision log's id for the decision (also in the X-Decision-Id header)" },
  Evaluator: { enum: ['compiled', 'reference'], description: 'compiled: the fast path; reference: json-rules-engine itself' },
  VersionsByFile: mapOf(ref('RuleVersion'), 'Rule file → the version it compiles to'),
  SourceRef: embed(ruleItem.properties.sources.items, REFS),
  DefaultApplied: closed(
    {
      fact: { type: 'string', description: 'The CaseFacts path the request left out' },
      value: { description: 'The value the deciding version took it to be' },
      file: { type: 'string', description: 'The rule file that declares the default (its factDefaults), relative to rules/' },
    },
    [],
    { description: 'A fact default applied to this case: policy the rule file states, not a fact the request gave' },
  ),
  RuleExplanation: closed(
    {
      rule: { type: 'string' },
      fired: { type: 'boolean' },
      description: { type: 'string', description: 'The rule in plain English' },
      sources: { type: 'array', minItems: 1, items: ref('SourceRef') },
      citation: { type: 'string' },
      requiredFor: { ...strings, minItems: 1, description: 'The grounds (bases, pathways) this rule is a criterion of' },
      interpretation: {
        ...ref('Interpretation'),
        description:
          "Present when the rule encodes a reading of the procedure's words that they leave open: the question, the reading chosen, and who confirmed it (absent: unconfirmed)",
      },
      conditions: ref('ConditionExplanation'),
      computed: {
        type: 'array',
        minItems: 1,
        items: ref('ComputedDate'),
        description: 'Present on the rule that decided a date of the outcome (a due date): how each such date was reckoned',
      },
    },
    ['requiredFor', 'interpretation', 'computed'],
  ),
  ComputedDate: closed(
    {
      field: { type: 'string', description: 'The outcome field this date is, e.g. actionDueBy' },
      date: dateOrNull('The date; null when none can be given (`text` says why)'),
      from: { ...date, description: 'Day 0: the date counted from' },
      fromFact: { type: 'string', description: 'The fact `from` is the value of, e.g. referral.receivedOn' },
      add: { type: 'integer', minimum: 0, description: 'How many units were added to `from`' },
      unit: { enum: ['working days'], description: 'Working days skip weekends and the national public holidays of the calendar' },
      parameter: { type: 'string', description: 'The parameter `add` comes from' },
      skipped: { type: 'array', items: ref('SkippedDay'), description: 'Each day after `from` up to `date` that was not counted, in order' },
      text: { type: 'string', description: 'The reckoning in a sentence: the date, how many working days after which day, and each day not counted with why' },
    },
    ['from', 'fromFact', 'add', 'unit', 'parameter', 'skipped'],
    { description: 'How a date of the outcome was reckoned, in the explanation entry of the rule that decided it' },
  ),
  SkippedDay: closed(
    {
      date,
      weekday: { enum: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] },
      reason: { enum: ['weekend', 'public holiday'] },
      holiday: {
        type: 'string',
        description: "The holiday's name in the holiday calendar, when the day is one (a weekend day included, e.g. Easter Saturday)",
      },
    },
    ['holiday'],
    { description: 'A day a working-day count did not count, and why' },
  ),
  ConditionExplanation: {
    description: "A group of conditions (all, any, not) with its result, or one condition's line",
    oneOf: [
      closed({ all: { type: 'array', items: ref('ConditionExplanation') }, result: { type: ['boolean', 'null'] } }),
      closed({ any: { type: 'array', items: ref('ConditionExplanation') }, result: { type: ['boolean', 'null'] } }),
      closed({ not: ref('ConditionExplanation'), result: { type: ['boolean', 'null'] } }),
      ref('ConditionLine'),
    ],
  },
  ConditionLine: closed(
    {
      fact: { type: 'string', description: "The fact's path (or derived fact's name)" },
      label: { type: 'string', description: 'The fact in words' },
      operator: { type: 'string' },
      expected: { description: 'The value the condition compares with' },
      expectedFrom: {
        type: 'string',
        description: 'Where the expected value comes from, when the rule names a parameter ("parameter <name>") or another fact',
      },
      actual: { description: "The customer's value; null when absent" },
      result: { type: ['boolean', 'null'], description: "null: not evaluated (the rule's outcome was settled without it)" },
      text: { type: 'string', description: '"<label> [<fact>] must <phrase> <expected>; it is <actual>: met."' },
    },
    ['expected', 'expectedFrom'],
    {
      // An expected value taken from another fact is known only once the condition is evaluated.
      if: { properties: { result: { type: 'boolean' } } },
      then: { properties: { expected: {} }, required: ['expected'] },
    },
  ),
  BatchResultLine: {
    description: "One answer line per request line, in order: the line's decision, or its problem",
    oneOf: [
      closed({
        line: integer(1),
        id: { type: ['string', 'number', 'null'], description: "The line's id as sent; null when it sent none (or an unusable one)" },
        decision: decisionOrShort,
      }),
      closed({
        line: integer(1),
        id: { type: ['string', 'number', 'null'] },
        problem: {
          allOf: [ref('Problem')],
          properties: {
            code: {
              enum: [
                'invalid-json',
                'invalid-request',
                'payload-too-large',
                'too-many-lines',
                'timeout',
                'no-version-in-force',
                'date-outside-calendar',
                'date-out-of-range',
                'log-unavailable',
                'internal',
              ] satisfies ErrorCode[],
            },
          },
        },
      }),
    ],
  },
  VersionPeriod: versionPeriod,
  VersionWithInterpretations: versionWithInterpretations,
  Interpretation: embed(interpretation, REFS),
  UnconfirmedInterpretation: {
    ...closed(interpretationPlace),
    description: 'A reading of the procedure that policy staff have not confirmed, and where it sits',
  },
  InterpretationListed: {
    ...closed(
      {
        ...interpretationPlace,
        confirmed: { type: 'boolean', description: 'Whether policy staff have confirmed the reading (confirmedBy and confirmedOn present)' },
        confirmedBy: { type: 'string', description: 'Who confirmed it' },
        confirmedOn: { ...date, description: 'The day they confirmed it' },
      },
      ['confirmedBy', 'confirmedOn'],
    ),
    description: "One of a version's interpretations: where it sits, its question, the reading chosen and whether it is confirmed",
  },
  RuleSetSummary: closed({
    name: ref('RuleSetName'),
    version: { ...ref('RuleVersion'), description: 'The version in force today (or the newest, when none is)' },
    title: string,
    rules: { ...integer(1), description: 'How many rules the version has' },
    versions: { type: 'array', items: ref('VersionPeriod') },
    href: { type: 'string', description: '/v1/rulesets/{name}' },
  }),
  RuleSetList: closed({ ruleSets: { type: 'array', items: ref('RuleSetSummary') } }),
  RuleCondition: embed(conditionSchema, REFS),
  RuleDefinition: ruleDefinition,
  RuleSetDetail: closed({
    name: ref('RuleSetName'),
    version: ref('RuleVersion'),
    effectiveFrom: dateOrNull('null: from the beginning'),
    effectiveTo: dateOrNull('null: until further notice'),
    file: { type: 'string', description: 'The rule file, relative to rules/' },
    title: string,
    description: string,
    documents: fileField('documents'),
    requires: fileField('requires'),
    factDefaults: {
      ...fileField('factDefaults'),
      description:
        'Fact path → what this version takes the fact to be when a request leaves it out, and why: each one applied is listed in the decision (defaultsApplied)',
    },
    parameters: fileField('parameters'),
    derivedFacts: fileField('derivedFacts'),
    outcome: { ...fileField('outcome'), description: "The rule file's settings for its outcome module" },
    rules: { type: 'array', items: ref('RuleDefinition') },
    interpretations: {
      type: 'array',
      items: ref('InterpretationListed'),
      description:
        'Every reading of the procedure this version applies where its words leave it open (each also on its parameter, derived fact, fact default or rule): the unconfirmed first, each group in file order',
    },
    versions: { type: 'array', items: ref('VersionWithInterpretations'), description: 'Every version of the rule set, with its unconfirmed interpretations' },
  }),
  ReloadResult: closed({
    reloaded: { const: true },
    versions: ref('VersionsByFile'),
    changed: { ...strings, description: 'The rule files whose version changed' },
  }),
  ImpactCase: {
    type: 'object',
    required: ['id', 'ruleSet', 'asOf', 'facts'],
    properties: {
      id: { type: 'string', minLength: 1 },
      ruleSet: { type: 'string' },
      asOf: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
      facts: { type: 'object', description: "CaseFacts; facts either rule set refuses are reported in the report's `refused`, not as a 400" },
    },
  },
  ImpactRequest: {
    type: 'object',
    required: ['cases'],
    properties: { cases: { type: 'array', minItems: 1, maxItems: MAX_IMPACT_CASES, items: ref('ImpactCase') } },
  },
  CaseChange: closed({
    id: string,
    ruleSet: string,
    asOf: date,
    versions: closed({ base: ref('RuleVersion'), changed: ref('RuleVersion') }),
    fields: {
      type: 'array',
      description: 'Outcome fields whose value differs; base or changed is absent when that outcome lacks the field',
      items: closed({ field: string, base: {}, changed: {} }, ['base', 'changed']),
    },
    rules: {
      type: 'array',
      description: 'Rules whose fired result differs, or that exist in only one version (null)',
      items: closed({ rule: string, base: { type: ['boolean', 'null'] }, changed: { type: ['boolean', 'null'] } }),
    },
    because: ref('Attribution'),
  }),
  Attribution: closed(
    {
      files: { ...closed({ base: string, changed: string }), description: 'Present when a different rule file (a dated version) decides the case' },
      calendar: { const: true, description: 'Present when the holiday calendar differs' },
      parameters: {
        type: 'array',
        description: 'Parameters whose value differs between the two deciding versions (old → new)',
        items: closed({ name: string, base: {}, changed: {} }),
      },
      rules: {
        type: 'array',
        description: 'Rules whose result differs, with the conditions whose result or values moved',
        items: closed({
          rule: string,
          base: { type: ['boolean', 'null'], description: 'Fired, did not fire, or not weighed (null)' },
          changed: { type: ['boolean', 'null'] },
          edited: { type: 'boolean', description: "The rule's own conditions, event or applicability differ" },
          conditions: {
            type: 'array',
            items: closed(
              {
                fact: string,
                label: string,
                operator: string,
                expectedFrom: string,
                expected: closed({ base: {}, changed: {} }, ['base', 'changed']),
                actual: closed({ base: {}, changed: {} }),
                result: closed({ base: { type: ['boolean', 'null'] }, changed: { type: ['boolean', 'null'] } }),
                entries: {
                  type: 'array',
                  description: "The customer's entries a derived fact counts under one set of rules and not the other, and why",
                  items: closed({ entry: string, counted: { enum: ['now', 'no longer'] }, because: string }),
                },
              },
              ['expectedFrom'],
            ),
          },
        }),
      },
    },
    ['files', 'calendar'],
    { description: 'Why the case decides differently: what changed (old → new) and the facts that met it' },
  ),
  ImpactReport: closed(impactReportFields),
  ImpactResult: closed({
    current: { ...ref('VersionsByFile'), description: 'The rules in force' },
    candidate: { ...ref('VersionsByFile'), description: 'The rules on disk, not yet reloaded' },
    report: ref('ImpactReport'),
  }),
  ...proposalSchemas(),
  Reproduction: closed({
    decisionId: ref('DecisionId'),
    version: ref('RuleVersion'),
    factsMatch: { const: true, description: 'The facts match the recorded digest (otherwise the answer is 409 facts-differ)' },
    reproduced: {
      type: 'boolean',
      description:
        'The same outcome and the same rules fired as recorded. A different summary.holdsUntil is listed in differences but does not count against it: holdsUntil also depends on the versions of the rule set loaded (a dated version loaded since the decision can end it sooner or later), which the log does not keep',
    },
    differences: {
      type: 'array',
      description:
        'Each recorded field the re-run gives otherwise. "summary.holdsUntil" is listed when the answer carried a summary and its holdsUntil differs now, but does not count against reproduced',
      items: closed({
        field: {
          type: 'string',
          description: '"outcome.<field>", "fired", or "summary.holdsUntil" (recorded and now each a date or null)',
        },
        recorded: {},
        now: {},
      }),
    },
    firedNow: strings,
    decision: ref('DecisionRerun'),
  }),
  ReproduceRequest: closed({ facts: { ...ref('CaseFacts'), description: 'The facts the decision was made on' } }),
  Health: closed({ status: { const: 'ok' } }),
  Ready: closed(
    {
      status: {
        enum: ['ready', 'degraded'],
        description:
          '"degraded": this worker can record and answer, but fewer of the cluster\'s workers serve than were asked for (see workers); the primary is restarting the others',
      },
      decisionLog: { enum: ['sqlite', 'postgres'] },
      versions: ref('VersionsByFile'),
      workers: {
        ...closed({ wanted: { type: 'integer', minimum: 1 }, serving: { type: 'integer', minimum: 0 } }),
        description: 'In a cluster (WORKERS above 1): the workers asked for, and those serving now',
      },
    },
    ['workers'],
  ),
};

/** A rule set's outcome schema's name in components.schemas: "case-review" → CaseReviewOutcome. */
export const outcomeSchemaName = (ruleSet: string): string => `${ruleSet.replace(/(^|-)([a-z0-9])/g, (_whole, _dash, c: string) => c.toUpperCase())}Outcome`;
/** The name of a rule set's branch of every answer holding an outcome: "case-review" → CaseReviewAnswer. */
const answerSchemaName = (ruleSet: string): string => outcomeSchemaName(ruleSet).replace(/Outcome$/, 'Answer');

/**
 * The schemas that follow the registered rule sets: each one's outcome, as its module's schema gives it (the one source
 * of its shape: the module's outcome type is the same schema's Static type), and every schema holding an outcome, whose
 * shape follows the `ruleSet` beside it.
 */
function ruleSetSchemas(modules: readonly RuleSetModule[]): Record<string, unknown> {
  const outcomes: Schema = {
    oneOf: modules.map(({ name }) => ref(answerSchemaName(name))),
    discriminator: {
      propertyName: 'ruleSet',
      mapping: Object.fromEntries(modules.map(({ name }) => [name, `#/components/schemas/${answerSchemaName(name)}`])),
    },
  };
  return {
    ...Object.fromEntries(
      modules.map(({ name }) => [
        answerSchemaName(name),
        {
          type: 'object',
          description: `The rule set and its outcome, in every answer holding an outcome of ${name}`,
          properties: { ruleSet: { const: name }, outcome: ref(outcomeSchemaName(name)) },
          required: ['ruleSet', 'outcome'],
        },
      ]),
    ),
    RuleSetName: { type: 'string', enum: modules.map(({ name }) => name), description: 'A rule set this service decides' },
    Decision: decisionSchema(true, 'An explained decision, as recorded in the decision log under decisionId', outcomes),
    DecisionRerun: decisionSchema(
      false,
      'A decision re-run for an auditor: the fields of Decision without decisionId, since a re-run is not recorded',
      outcomes,
    ),
    SummaryDecision: byRuleSet(
      outcomes,
      {
        decisionId: ref('DecisionId'),
        ...decisionHead,
        outcome: outcomeField("The rule set's outcome, as in Decision"),
        summary: ref('Summary'),
      },
      [],
      'A decision answered with ?explain=summary: its outcome and the summary a caseworker reads, without the trace; recorded in the decision log as any decision is',
    ),
    ShortDecision: byRuleSet(
      outcomes,
      {
        decisionId: ref('DecisionId'),
        ruleSet: ref('RuleSetName'),
        version: ref('RuleVersion'),
        asOf: date,
        outcome: outcomeField("The rule set's outcome, as in Decision"),
        defaultsApplied: {
          type: 'array',
          items: ref('DefaultApplied'),
          description: 'As in Decision: each fact default the deciding version applied to this case',
        },
        fired: { ...strings, description: 'The ids of the rules that fired, in file order' },
      },
      [],
      'A decision answered with ?explain=none: its outcome and the rules that fired, without the explanation; recorded in the decision log as any decision is',
    ),
    DecisionRecord: byRuleSet(
      outcomes,
      {
        decisionId: ref('DecisionId'),
        decidedAt: { type: 'string', format: 'date-time', description: 'When the service decided (UTC)' },
        keyId: { type: 'string', description: 'The id (never the secret) of the API key that asked' },
        ruleSet: ref('RuleSetName'),
        version: ref('RuleVersion'),
        asOf: date,
        evaluator: ref('Evaluator'),
        outcome: outcomeField('The outcome as returned to the caller'),
        fired: { ...strings, description: 'The rules that fired, in evaluation order' },
        factsDigest: {
          type: 'string',
          pattern: '^sha256:[0-9a-f]{32}:[0-9a-f]{64}$',
          description: "sha256:<16-byte salt>:<digest> of the validated facts' canonical JSON (facts-digest.ts)",
        },
        factsKept: { type: 'boolean', description: 'Whether the log keeps the facts themselves (DECISION_LOG_FACTS=keep); the facts are never shown' },
        summary: {
          oneOf: [
            closed({
              holdsUntil: dateOrNull(
                "The answer's summary.holdsUntil: the first day after asOf on which time alone changes the verdict; null when nothing does",
              ),
            }),
            { type: 'null' },
          ],
          description:
            "What the answer's summary said that the version, the facts and asOf cannot give again (holdsUntil also rests on the other versions loaded then). null when the answer carried no summary (?explain=none) or was recorded before the log kept it",
        },
        reproduction: { ...ref('Reproduction'), description: 'With the facts kept: the decision re-run under the version that made it' },
      },
      ['reproduction'],
      'A decision as the log keeps it, without the facts (its outcome as returned to the caller)',
    ),
    ...Object.fromEntries(modules.map((module) => [outcomeSchemaName(module.name), embed(module.outcomeSchema, {})])),
  };
}

// ——— Operations ———

type Problems = Partial<Record<number, readonly ErrorCode[]>>;

/** The headers authorize() and the rate limiter (access.ts, limits.ts) send with their problems. */
const PROBLEM_HEADERS: Record<number, Record<string, unknown>> = {
  401: {
    'WWW-Authenticate': {
      required: true,
      description: 'The challenge (RFC 6750): Bearer realm="ps-decisions", with error="invalid_token" for a key not accepted',
      schema: { type: 'string', pattern: '^Bearer realm=' },
    },
  },
  403: {
    'WWW-Authenticate': {
      required: true,
      description: 'Bearer realm="ps-decisions", error="insufficient_scope"',
      schema: { type: 'string', pattern: '^Bearer realm=' },
    },
  },
  429: {
    'Retry-After': { description: 'Seconds until this key may call again', schema: { type: 'string', pattern: '^\\d+$' } },
  },
};

function problemResponse(status: number, codes: readonly ErrorCode[], when: string | undefined): Schema {
  const list = codes.map((code) => `\`${code}\` (${ERROR_CATALOGUE[code].title})`).join('; ');
  return {
    description: when ? `${when} ${list}.` : `${list}.`,
    ...(PROBLEM_HEADERS[status] ? { headers: PROBLEM_HEADERS[status] } : {}),
    content: {
      [PROBLEM_JSON]: { schema: { allOf: [ref('Problem')], properties: { status: { const: status }, code: { enum: [...codes] } } } },
    },
  };
}

interface OperationSpec {
  operationId: string;
  summary: string;
  description: string;
  tags: string[];
  /** Absent: public. */
  permission?: Permission;
  parameters?: Schema[];
  requestBody?: Schema;
  responses: Record<string, Schema>;
  problems: Problems;
  /** Why a status happens on this route, when the code's title does not say. */
  when?: Partial<Record<number, string>>;
}

/** Every /v1 route: a key with the permission, within its rate. */
const GUARDED: Problems = { 401: ['unauthorized'], 403: ['forbidden'], 429: ['rate-limited'] };
/** Every route but evaluate-batch answers 503 timeout past the request timeout, and any route 500 on a fault. */
const ALWAYS: Problems = { 500: ['internal'], 503: ['timeout'] };
/** Routes that read a JSON body. */
const JSON_BODY: Problems = { 400: ['invalid-json', 'invalid-request'], 413: ['payload-too-large'], 415: ['unsupported-media-type'] };
/** Why a route that reads a JSON body answers 415: it takes application/json and no other type (media-type.ts). */
const JSON_ONLY = `The Content-Type is not ${JSON_MEDIA_TYPE} (no other type is taken, application/*+json neither; the problem names the header and the type taken), its charset is not one the body can be read in, or the Content-Encoding is not supported:`;

/** Routes that write proposals to the SQLite decision log's file: refused while that file is not the one opened. */
const LOST_LOG: Problems = { 503: ['log-unavailable'] };
const LOST_LOG_WHEN =
  'The request took too long, or the SQLite decision log file the proposals are kept in was deleted or replaced under the service (nothing is written where it would be lost):';

function merge(...sets: Problems[]): Problems {
  const merged: Record<number, ErrorCode[]> = {};
  for (const set of sets) {
    for (const [status, codes] of Object.entries(set)) merged[Number(status)] = [...new Set([...(merged[Number(status)] ?? []), ...(codes ?? [])])];
  }
  return merged;
}

function operation(spec: OperationSpec): Schema {
  const roles = spec.permission ? rolesThatMay(spec.permission) : undefined;
  const problems = merge(spec.problems, roles ? GUARDED : {});
  const problemResponses = Object.fromEntries(
    Object.entries(problems)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([status, codes]) => [status, problemResponse(Number(status), codes ?? [], spec.when?.[Number(status)])]),
  );
  const who = roles ? `Roles: ${roles.join(', ')} (permission \`${spec.permission}\`).` : 'Public: no API key needed.';
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    description: `${spec.description}\n\n${who}`,
    tags: spec.tags,
    security: roles ? [{ apiKey: [] }] : [],
    ...(roles ? { 'x-roles': roles } : {}),
    ...(spec.parameters ? { parameters: spec.parameters } : {}),
    ...(spec.requestBody ? { requestBody: spec.requestBody } : {}),
    responses: Object.fromEntries(
      Object.entries({ ...spec.responses, ...problemResponses }).map(([status, response]) => [status, withHeadersSent(response, status, roles !== undefined)]),
    ),
  };
}

/** The request id the request log gives every answer (request-log.ts): the caller's own, or a new one. */
const REQUEST_ID_HEADER: Schema = {
  description:
    "The request's id, as the service's log records it: the caller's X-Request-Id when it sent a plain token (letters, digits, . _ - up to 128), else a new one. Sent when request logging is on, as the service runs",
  schema: string,
};

/** The allowance the rate limiter (limits.ts) states on every answer it lets through or refuses, after the key is known. */
const RATE_LIMIT_HEADERS: Record<string, Schema> = {
  RateLimit: { description: "The key's remaining allowance (IETF draft 8): sent when a rate limit is set", schema: string },
  'RateLimit-Policy': { description: 'The allowance: requests per 60-second window (IETF draft 8): sent when a rate limit is set', schema: string },
};

/**
 * A response with the headers the service sends with it whatever the route: X-Request-Id on every answer, and on a
 * guarded route the RateLimit headers on every answer after the key was accepted (not on a 401 or 403: the limiter
 * counts keys it knows).
 */
function withHeadersSent(response: Schema, status: string, guarded: boolean): Schema {
  const limited = guarded && status !== '401' && status !== '403';
  return { ...response, headers: { ...(response.headers as Schema | undefined), 'X-Request-Id': REQUEST_ID_HEADER, ...(limited ? RATE_LIMIT_HEADERS : {}) } };
}

/** One real exchange per operation (scripts/openapi-examples.ts): the request body sent, and the answer. */
interface ExampleExchange {
  request?: { mediaType: string; value: unknown };
  response: { status: number; mediaType: string; value: unknown };
}

/**
 * The operation with its example exchange shown: the request body's under its media type (beside any named examples it
 * has, as `sent`), and the answer's under its status and media type. Throws when the exchange names a status or media
 * type the operation does not document: the examples file is stale (npm run docs:examples).
 */
function withExample(method: string, path: string, operation: Schema): Schema {
  const exchange = (EXAMPLES as Record<string, ExampleExchange | undefined>)[operation.operationId as string];
  if (!exchange) return operation;
  const at = (where: Schema | undefined, mediaType: string, what: string): Schema => {
    const media = (where?.content as Record<string, Schema> | undefined)?.[mediaType];
    if (!media) throw new Error(`src/rulesets/openapi-examples.json: ${method.toUpperCase()} ${path} has no ${what} of ${mediaType} (npm run docs:examples)`);
    return media;
  };
  const shown = (media: Schema, value: unknown): Schema =>
    media.examples ? { ...media, examples: { ...(media.examples as Schema), sent: { summary: 'As sent', value } } } : { ...media, example: value };
  const { request, response } = exchange;
  const responses = operation.responses as Record<string, Schema>;
  const answered = responses[String(response.status)];
  const answer = {
    ...answered,
    content: { ...(answered?.content as Schema), [response.mediaType]: shown(at(answered, response.mediaType, `${response.status} answer`), response.value) },
  };
  const requestBody = operation.requestBody as Schema | undefined;
  return {
    ...operation,
    ...(request && requestBody
      ? {
          requestBody: {
            ...requestBody,
            content: { ...(requestBody.content as Schema), [request.mediaType]: shown(at(requestBody, request.mediaType, 'request body'), request.value) },
          },
        }
      : {}),
    responses: { ...responses, [String(response.status)]: answer },
  };
}

/** Every operation of the paths with its example exchange. */
function withExamplesShown(all: typeof paths): typeof paths {
  return Object.fromEntries(
    Object.entries(all).map(([path, item]) => [
      path,
      Object.fromEntries(Object.entries(item).map(([method, operation]) => [method, withExample(method, path, operation as Schema)])),
    ]),
  );
}

const json = (schema: Schema, description: string, headers?: Record<string, unknown>): Schema => ({
  description,
  ...(headers ? { headers } : {}),
  content: { [JSON_MEDIA_TYPE]: { schema } },
});
/** A JSON request body: as the routes take it (media-type.ts), application/json alone. */
const jsonBody = (schema: Schema, description: string): Schema => ({ required: true, description, content: { [JSON_MEDIA_TYPE]: { schema } } });

const ruleSetName: Schema = { name: 'name', in: 'path', required: true, description: 'The rule set', schema: ref('RuleSetName') };
const decisionIdParameter: Schema = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The decision id (a UUID); anything else is 404',
  schema: { type: 'string' },
};
const proposalIdParameter: Schema = { name: 'id', in: 'path', required: true, description: "The proposal's id", schema: { type: 'string' } };
const engine: Schema = {
  name: 'engine',
  in: 'query',
  required: false,
  description: 'Which evaluator decides: compiled (the fast path) or reference (json-rules-engine itself, for an auditor); both decide identically',
  schema: { ...ref('Evaluator'), default: 'compiled' },
};

const explain: Schema = {
  name: 'explain',
  in: 'query',
  required: false,
  description:
    "How much of the decision the answer carries: full (Decision: the summary and the explanation, rule by rule, with derived facts and parameters), summary (SummaryDecision: the outcome and the summary, without the trace) or none (ShortDecision: the outcome and the ids of the rules that fired). The decision log records the decision the same way either way, but for the summary's holdsUntil, which it keeps when the answer carries a summary",
  schema: { enum: ['full', 'summary', 'none'], default: 'full' },
};

const paths: Record<string, Record<string, unknown>> = {
  '/health': {
    get: operation({
      operationId: 'health',
      summary: 'Liveness: the process answers',
      description: 'Answers as long as the process runs; says nothing of the rules or the decision log (see /ready).',
      tags: ['Operations'],
      responses: { 200: json(ref('Health'), 'The process is alive') },
      problems: ALWAYS,
    }),
  },
  '/ready': {
    get: operation({
      operationId: 'ready',
      summary: 'Readiness: rules loaded and a decision can be recorded',
      description:
        'A load balancer sends traffic only while this answers 200: the service gives no decision it cannot record. Each call commits a small write to the decision log (a probe), and a decision write that failed in the last 5 s is a 503 too, so a full disk, a read-only file system or a log file deleted under the service is a 503 here. A cluster with fewer workers serving than asked for is still 200 (this worker serves), with status "degraded".',
      tags: ['Operations'],
      responses: { 200: json(ref('Ready'), 'Ready; which decision log, and the rule versions in force') },
      problems: merge(ALWAYS, { 503: ['not-ready'] }),
      when: {
        503: 'Not ready (the decision log cannot record a decision: a failed write, a failed probe, or its file deleted or replaced), or the check took too long:',
      },
    }),
  },
  '/metrics': {
    get: operation({
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      description:
        "Requests, latency, decisions, errors, decision-log writes and reloads, in the Prometheus text exposition format; in a cluster, every worker's figures.",
      tags: ['Operations'],
      responses: {
        200: { description: 'The Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } },
      },
      problems: merge(ALWAYS, { 404: ['not-found'] }),
      when: { 404: 'When the service runs without metrics:' },
    }),
  },
  '/openapi.json': {
    get: operation({
      operationId: 'openApi',
      summary: 'This document',
      description: 'The OpenAPI 3.1 document describing every route.',
      tags: ['Operations'],
      responses: {
        200: json(
          {
            type: 'object',
            required: ['openapi', 'info', 'paths'],
            properties: { openapi: { const: '3.1.0' }, info: { type: 'object' }, paths: { type: 'object' } },
          },
          'The OpenAPI document',
        ),
      },
      problems: ALWAYS,
    }),
  },
  '/rules': {
    get: operation({
      operationId: 'rulesPage',
      summary: 'The rule sets as a page for policy staff',
      description: 'Static HTML that reads the rule sets from this API (so it asks for a key) and shows each rule with its source.',
      tags: ['Rule sets'],
      responses: { 200: { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } } },
      problems: ALWAYS,
    }),
  },
  '/v1/rulesets': {
    get: operation({
      operationId: 'listRuleSets',
      summary: 'List the rule sets',
      description: 'Every rule set with the version in force today (in Sydney), its rule count and all its versions.',
      tags: ['Rule sets'],
      permission: 'read-rules',
      responses: { 200: json(ref('RuleSetList'), 'The rule sets') },
      problems: ALWAYS,
    }),
  },
  '/v1/rulesets/{name}': {
    get: operation({
      operationId: 'getRuleSet',
      summary: 'One rule set: every rule with its description and source',
      description:
        'The version in force on `asOf` (default: today in Sydney), with its parameters, derived facts and rules, each rule citing the paragraph it comes from.',
      tags: ['Rule sets'],
      permission: 'read-rules',
      parameters: [
        ruleSetName,
        {
          name: 'asOf',
          in: 'query',
          required: false,
          description:
            "Show the version in force on this date: a real calendar date written YYYY-MM-DD, as an evaluate body's asOf (default: today in Sydney). Anything else, or the parameter given twice, is a 400 naming asOf",
          schema: date,
        },
      ],
      responses: { 200: json(ref('RuleSetDetail'), 'The version in force on asOf') },
      problems: merge(ALWAYS, { 400: ['invalid-request'], 404: ['unknown-rule-set', 'not-found'], 422: ['no-version-in-force'] }),
      when: { 400: 'asOf is not a real calendar date written YYYY-MM-DD (or is given more than once):' },
    }),
  },
  '/v1/rulesets/{name}/evaluate': {
    post: operation({
      operationId: 'evaluate',
      summary: 'Decide one case, explained',
      description:
        'Decides the facts with the version in force on `asOf` (default: today in Sydney). The decision is recorded in the decision log before it is answered; ' +
        'if it cannot be recorded, none is given (503 log-unavailable). The body may be at most 1 MiB.',
      tags: ['Decisions'],
      permission: 'evaluate',
      parameters: [ruleSetName, engine, explain],
      requestBody: jsonBody(ref('EvaluateRequest'), 'The facts, and optionally the date to decide as of'),
      responses: {
        200: json(
          decisionOrShort,
          'The decision, summarised and explained rule by rule (Decision); with ?explain=summary its outcome and summary (SummaryDecision); with ?explain=none its outcome and the rules that fired (ShortDecision)',
          {
            'X-Decision-Id': { required: true, description: 'The decision id, as in the body', schema: ref('DecisionId') },
          },
        ),
      },
      problems: merge(ALWAYS, JSON_BODY, {
        404: ['unknown-rule-set', 'not-found'],
        422: ['no-version-in-force', 'date-outside-calendar', 'date-out-of-range'],
        503: ['log-unavailable'],
      }),
      when: {
        400: 'The body is not JSON, or does not match the contract (each offending field named by its JSON pointer), or the engine or explain query parameter is unknown:',
        415: JSON_ONLY,
        422: 'No version is in force on asOf, a date falls outside the holiday calendar, or a date reckoned from the case is past 9999-12-31:',
      },
    }),
  },
  '/v1/rulesets/{name}/evaluate-batch': {
    post: operation({
      operationId: 'evaluateBatch',
      summary: 'Decide many cases, streamed as NDJSON',
      description:
        'One JSON object `{ "id"?, "asOf"?, "facts" }` a line in; one answer line a line out, in order, each the line\'s decision (recorded, with its decisionId) or its problem. ' +
        'A line may be at most 1 MiB. The body may be compressed (Content-Encoding: gzip, deflate or br). ' +
        `A batch stops at the first of its bounds (by default): ${DEFAULT_BATCH_LIMITS.maxLines.toLocaleString('en-AU')} lines (413 too-many-lines), ` +
        `${DEFAULT_BATCH_LIMITS.maxBytes / 1024 / 1024} MiB of body, counted inflated (413 payload-too-large), or ${DEFAULT_BATCH_LIMITS.maxMs / 60_000} minutes from its headers (503 timeout). ` +
        'Every line before the stop is answered as usual; then one final problem line, whose `line` is the first line not answered (resume from there), ends the answer, and the connection is closed; nothing more of the body is read. ' +
        'Problems with the whole request (a Content-Length past the size bound, rule set, content type, engine, a body with no line to decide) are answered before any line, as problem+json. ' +
        'So the 200 and its headers are sent when the first byte that is not blank (a space, tab, CR or newline) has arrived, or when a bound stops the batch before one; a body that ends without one (no bytes, or blank lines alone) is a 400.',
      tags: ['Decisions'],
      permission: 'evaluate',
      parameters: [ruleSetName, engine, explain],
      requestBody: {
        required: true,
        description:
          'NDJSON: one evaluate request (with an optional id) a line, UTF-8; at least one line that is not blank (a blank line among others is answered with its own problem line)',
        content: { [NDJSON_MEDIA_TYPE]: ndjson(ref('BatchRequestLine')) },
      },
      responses: {
        200: {
          description: 'NDJSON: one BatchResultLine per request line, streamed as the lines are decided',
          content: { [NDJSON_MEDIA_TYPE]: ndjson(ref('BatchResultLine')) },
        },
      },
      // Streamed: the request timeout does not apply (the batch's own time bound ends it with a 503 line), so no 503.
      problems: {
        400: ['invalid-request'],
        404: ['unknown-rule-set', 'not-found'],
        413: ['payload-too-large'],
        415: ['unsupported-media-type'],
        500: ['internal'],
      },
      when: {
        400: 'The body holds no line to decide (it is empty, or blank lines alone), or the engine or explain query parameter is unknown:',
        413: 'The Content-Length passes the size bound (the body is not read, and the connection is closed):',
        415: `The Content-Type is not ${NDJSON_MEDIA_TYPE} (the problem names the header and the type taken), its charset is not UTF-8, or the Content-Encoding is not supported:`,
      },
    }),
  },
  '/v1/admin/reload': {
    post: operation({
      operationId: 'reload',
      summary: 'Reload the rule files',
      description:
        'Validates every rule file on disk and swaps all rule sets in at once (in every worker), or refuses them all and keeps the last good rules. ' +
        'It reads no body: send none (a body is refused, not ignored, and nothing is reloaded).',
      tags: ['Administration'],
      permission: 'reload',
      responses: { 200: json(ref('ReloadResult'), 'Reloaded: the versions now in force, and which files changed') },
      problems: merge(ALWAYS, { 400: ['invalid-request'], 404: ['not-found'], 422: ['rules-refused'] }),
      when: {
        400: 'A body was sent (a declared one is not read, and the connection is closed after the answer); nothing is reloaded:',
        404: 'When the service serves fixed rules:',
        422: 'The files on disk are invalid (each problem named by file, line and column); the last good rules stay in force:',
      },
    }),
  },
  '/v1/admin/impact': {
    post: operation({
      operationId: 'impact',
      summary: 'What would change if the rules on disk were reloaded',
      description: `Decides each case (1 to ${MAX_IMPACT_CASES.toLocaleString('en-AU')}) under the rules in force and under the rules on disk, not yet reloaded, and reports the outcomes and rule results that differ. Nothing is recorded or reloaded.`,
      tags: ['Administration'],
      permission: 'impact',
      requestBody: jsonBody(ref('ImpactRequest'), 'The cases to compare'),
      responses: { 200: json(ref('ImpactResult'), 'The versions compared, and the report') },
      problems: merge(ALWAYS, JSON_BODY, { 404: ['not-found'], 422: ['rules-refused'] }),
      when: {
        404: 'When the service cannot read candidate rules:',
        415: JSON_ONLY,
        422: 'The rule files on disk are invalid, so there is nothing to compare:',
      },
    }),
  },
  '/v1/rulesets/{name}/draft-impact': {
    post: operation({
      operationId: 'draftImpact',
      summary: "What a draft of a rule set's newest version would change, before it is proposed",
      description:
        "Checks the draft as the loader checks a rule file, then decides the rule set's fixtures, a backlog if one is sent, and the log's recent decisions with kept facts if asked, by the newest version and by the draft, and reports the cases whose outcome changes (counted by field and values, each case with the rules that changed it) and the fixtures the draft would break. " +
        "Nothing is stored or published: the policy editor asks it as a draft is edited. A backlog's counts are those `ps-rules diff --cases` gives on the same file with the draft in a rules folder.",
      tags: ['Proposals'],
      permission: 'impact',
      parameters: [ruleSetName],
      requestBody: jsonBody(ref('DraftImpactRequest'), 'The draft, and a backlog or the recent decisions to measure it on'),
      responses: { 200: json(ref('DraftImpactResult'), 'The impact on the fixtures, and on the backlog and the recent decisions when asked') },
      problems: merge(ALWAYS, JSON_BODY, { 404: ['unknown-rule-set', 'not-found'], 422: ['draft-invalid'], 501: ['proposals-unavailable'] }),
      when: {
        400: 'The body is not { file, backlog?, logged? }, or the CSV mapping sent is not a triage mapping (each named by its pointer):',
        404: 'No such rule set:',
        415: JSON_ONLY,
        422: 'The draft is invalid, or a rule file of another rule set (each problem named as the loader names it: file#pointer, line and column):',
        501: 'The service does not hold its rule files as texts (fixed rules):',
      },
    }),
  },
  '/v1/rulesets/{name}/history': {
    get: operation({
      operationId: 'ruleSetHistory',
      summary: 'Every version of a rule set, who made it and what changed',
      description:
        'Every version of the rule set loaded, oldest first, with its period; for a version published by proposal, who proposed and approved it, when, why and their comment; and what changed from the version before, as JSON pointers with the old and new values.',
      tags: ['Rule sets'],
      permission: 'read-rules',
      parameters: [ruleSetName],
      responses: { 200: json(ref('RuleSetHistory'), 'The versions, oldest first') },
      problems: merge(ALWAYS, { 404: ['unknown-rule-set', 'not-found'] }),
    }),
  },
  '/v1/proposals': {
    post: operation({
      operationId: 'createProposal',
      summary: 'Propose a new version of a rule set, in force from a date',
      description:
        "Validates the draft as the rules folder would hold it once published (the version in force now ending the day before effectiveFrom), measures its impact on the rule set's fixtures, and records the proposal for a second policy officer. Nothing is stored when it is refused. " +
        'Proposals are kept in the decision log: in its SQLite file, or in its PostgreSQL database, shared by every server process.',
      tags: ['Proposals'],
      permission: 'propose',
      requestBody: jsonBody(ref('ProposalRequest'), 'The rule set, the draft rule file, the day it takes effect and why'),
      responses: {
        201: json(ref('ProposalCreated'), 'Proposed: the proposal and its impact', {
          Location: { required: true, description: '/v1/proposals/{id}', schema: string },
        }),
      },
      problems: merge(ALWAYS, JSON_BODY, LOST_LOG, {
        404: ['unknown-rule-set'],
        409: ['proposal-conflict'],
        422: ['draft-invalid'],
        501: ['proposals-unavailable'],
      }),
      when: {
        503: LOST_LOG_WHEN,
        400: 'The body is not { ruleSet, file, effectiveFrom, rationale }, or effectiveFrom is not a real date, is before today in Sydney or not after the day the version it replaces took effect (each named by its pointer):',
        404: 'No such rule set (named /ruleSet):',
        409: 'The rules folder already holds a file of the names publishing would write:',
        415: JSON_ONLY,
        422: 'The draft is invalid (each problem named as the loader names it: file#pointer, line and column of the text as it would be published):',
        501: 'The service serves fixed rules, or its proposal store could not be opened:',
      },
    }),
    get: operation({
      operationId: 'listProposals',
      summary: 'The proposals, newest first',
      description: 'Every proposal, or those of one rule set or status.',
      tags: ['Proposals'],
      permission: 'read-proposals',
      parameters: [
        { name: 'ruleSet', in: 'query', required: false, description: 'Only those of this rule set', schema: string },
        { name: 'status', in: 'query', required: false, description: 'Only those in this status', schema: { enum: ['proposed', 'approved', 'rejected'] } },
      ],
      responses: { 200: json(ref('ProposalList'), 'The proposals') },
      problems: merge(ALWAYS, { 400: ['invalid-request'], 501: ['proposals-unavailable'] }),
      when: {
        400: 'A query parameter is given twice, or status is not one of the three:',
        501: 'The service serves fixed rules, or its proposal store could not be opened:',
      },
    }),
  },
  '/v1/proposals/{id}': {
    get: operation({
      operationId: 'getProposal',
      summary: 'One proposal, with its draft and impact',
      description: 'The proposal, the draft rule file as proposed, and its impact on the fixtures as measured when it was proposed.',
      tags: ['Proposals'],
      permission: 'read-proposals',
      parameters: [proposalIdParameter],
      responses: { 200: json(ref('ProposalDetail'), 'The proposal') },
      problems: merge(ALWAYS, { 404: ['not-found'], 501: ['proposals-unavailable'] }),
      when: { 404: 'No such proposal:', 501: 'The service serves fixed rules, or its proposal store could not be opened:' },
    }),
  },
  '/v1/proposals/{id}/approve': {
    post: operation({
      operationId: 'approveProposal',
      summary: "Approve another officer's proposal, publishing it",
      description:
        "Publishes the new version into the rules folder, each file written whole (a temporary file renamed over it): the version it replaces moves to `<ruleSet>.before-<effectiveFrom>.json` with its effectiveTo the day before, and the new version becomes `<ruleSet>.json` with the proposal's effectiveFrom. " +
        'The rules as they would then be are validated first, and swapped in as a reload does (in every worker); if the reload refuses them, the files are put back and the proposal stays proposed. ' +
        'Publications happen one at a time; of two approvals of one proposal, one publishes and the other is a 409. ' +
        'With a PostgreSQL decision log (the shared deployment) the two versions are published into the database instead, in the transaction that marks the proposal approved, and every server process loads them (notified, or within a second by polling); `ps-rules export` writes them as files.',
      tags: ['Proposals'],
      permission: 'approve',
      parameters: [proposalIdParameter],
      requestBody: jsonBody(ref('DecisionComment'), 'What the approving officer checked'),
      responses: { 200: json(ref('ProposalApproved'), 'Approved and published') },
      problems: merge(ALWAYS, JSON_BODY, LOST_LOG, {
        403: ['forbidden'],
        404: ['not-found'],
        409: ['proposal-conflict'],
        422: ['draft-invalid', 'rules-refused'],
        501: ['proposals-unavailable'],
      }),
      when: {
        503: LOST_LOG_WHEN,
        403: 'The key proposed it (a second officer must approve), or may not approve:',
        404: 'No such proposal:',
        409: 'It is no longer proposed (approved or rejected already), its base version is no longer the newest (propose it again on the version now in force), or its effectiveFrom has passed:',
        415: JSON_ONLY,
        422: 'The rules as published would be refused, or the rule files on disk are refused; nothing is written:',
        501: 'The service serves fixed rules, or its proposal store could not be opened:',
      },
    }),
  },
  '/v1/proposals/{id}/reject': {
    post: operation({
      operationId: 'rejectProposal',
      summary: "Reject another officer's proposal",
      description: 'Records the rejection and the comment; nothing is published.',
      tags: ['Proposals'],
      permission: 'approve',
      parameters: [proposalIdParameter],
      requestBody: jsonBody(ref('DecisionComment'), 'Why not'),
      responses: { 200: json(ref('Proposal'), 'Rejected') },
      problems: merge(ALWAYS, JSON_BODY, LOST_LOG, { 403: ['forbidden'], 404: ['not-found'], 409: ['proposal-conflict'], 501: ['proposals-unavailable'] }),
      when: {
        503: LOST_LOG_WHEN,
        403: 'The key proposed it (a second officer must decide it), or may not approve:',
        404: 'No such proposal:',
        409: 'It is no longer proposed:',
        415: JSON_ONLY,
        501: 'The service serves fixed rules, or its proposal store could not be opened:',
      },
    }),
  },
  '/v1/decisions/{id}': {
    get: operation({
      operationId: 'getDecision',
      summary: 'A recorded decision',
      description:
        "The decision log's record of a decision: never the facts, only their digest and whether they were kept. With the facts kept, the record shows whether the decision reproduces.",
      tags: ['Decision log'],
      permission: 'read-decisions',
      parameters: [decisionIdParameter],
      responses: { 200: json(ref('DecisionRecord'), 'The record') },
      problems: merge(ALWAYS, { 404: ['not-found'], 410: ['version-unavailable'], 503: ['log-unreadable'] }),
      when: {
        404: 'No such decision:',
        410: 'With the facts kept, the version that decided can no longer be compiled to reproduce it:',
        503: 'The decision log could not be read (its server is down, or its file was deleted under the service):',
      },
    }),
  },
  '/v1/decisions/{id}/reproduce': {
    post: operation({
      operationId: 'reproduceDecision',
      summary: 'Re-run a recorded decision on the facts it was made on',
      description:
        'Checks the facts against the recorded digest, re-runs them under the version and evaluator that decided (compiled again from the archived texts if it is no longer loaded), and compares the outcome and the rules fired.',
      tags: ['Decision log'],
      permission: 'read-decisions',
      parameters: [decisionIdParameter],
      requestBody: jsonBody(ref('ReproduceRequest'), 'The facts (only the facts: the version and asOf are the recorded ones)'),
      responses: { 200: json(ref('Reproduction'), 'The re-run and how it compares') },
      problems: merge(ALWAYS, JSON_BODY, { 404: ['not-found'], 409: ['facts-differ'], 410: ['version-unavailable'], 503: ['log-unreadable'] }),
      when: {
        404: 'No such decision:',
        409: 'The facts are not the ones decided on:',
        410: 'The version that decided is neither loaded nor archived:',
        415: JSON_ONLY,
        503: 'The decision log could not be read:',
      },
    }),
  },
};

/** The rule sets' names in words, for the document's description: "direct referral, … and service restriction". */
function inWords(modules: readonly RuleSetModule[]): string {
  const names = modules.map(({ name }) => name.replace(/-/g, ' '));
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** The paths, the evaluate request body showing the case of each rule set registered (components/examples) as its examples. */
function withExamples(all: typeof paths, modules: readonly RuleSetModule[]): typeof paths {
  const route = '/v1/rulesets/{name}/evaluate';
  const evaluate = all[route] as { post: Schema };
  const body = evaluate.post.requestBody as { content: Record<string, Schema> };
  const examples = Object.fromEntries(modules.map(({ name }) => [name, { $ref: `#/components/examples/${name}` }]));
  const requestBody = { ...body, content: { ...body.content, [JSON_MEDIA_TYPE]: { ...body.content[JSON_MEDIA_TYPE], examples } } };
  return { ...all, [route]: { ...evaluate, post: { ...evaluate.post, requestBody } } };
}

/** The document for these rule sets' modules. */
function buildDocument(modules: readonly RuleSetModule[]): OpenApiDocument {
  return {
    openapi: '3.1.0',
    // Served by the service it describes: its paths are relative to where it was fetched from.
    servers: [{ url: '/', description: 'This service' }],
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Personalised Services decision service',
      version: packageVersion(),
      description:
        `Explained decisions for Services Australia Personalised Services: ${inWords(modules)}. ` +
        'Every rule cites the procedure paragraph it comes from.\n\n' +
        'Every /v1 route needs an API key (`Authorization: Bearer <key>`); each operation names the roles that may call it. ' +
        'Every problem is `application/problem+json` (RFC 9457) with a stable `code`. Any path or method not listed here is answered 404 with code `not-found`; a path is matched as written, so with a trailing slash it is another path, not listed (`/v1/rulesets/` is a 404).\n\n' +
        "A body the service will not read is not waited for: a Content-Length past a route's limit is answered 413 at once, and any answer given before the body has arrived (a refusal, or a 503 timeout while it is still being sent) closes the connection after it (`Connection: close`).",
    },
    tags: [
      { name: 'Rule sets', description: 'The rules, their versions and sources' },
      { name: 'Decisions', description: 'Deciding cases' },
      { name: 'Decision log', description: 'Recorded decisions, for auditors' },
      { name: 'Administration', description: 'Reloading rules and weighing a change first, for policy staff' },
      { name: 'Proposals', description: 'A new version of a rule set proposed by one policy officer and approved by another, in force from a date' },
      { name: 'Operations', description: 'Health, readiness, metrics, this document' },
    ],
    paths: withExamplesShown(withExamples(paths, modules)),
    components: {
      schemas: { ...schemas, ...ruleSetSchemas(modules) },
      // A case to try each rule set with (the rules page starts from it): an evaluate request body, by rule-set name.
      examples: Object.fromEntries(modules.map(({ name, example }) => [name, { summary: `A case for ${name}`, value: { facts: example } }])),
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key issued per caller, with one role: caseworker, policy or auditor' },
      },
    },
  };
}

let built: { generation: number; document: OpenApiDocument } | undefined;

/**
 * The document /openapi.json serves, for the rule sets registered now (src/rulesets/index.ts). Built once, and again
 * only when a rule set is registered or unregistered, so callers may hold it and compare it by identity.
 */
export function openApiDocument(): OpenApiDocument {
  const generation = registryGeneration();
  if (built?.generation !== generation) built = { generation, document: buildDocument(Object.values(RULE_SET_MODULES)) };
  return built.document;
}
