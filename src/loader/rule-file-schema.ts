// JSON Schema for a rule file: json-rules-engine's rule shape plus our metadata (sources, typed parameters, derived facts).
import { parameterSchema } from './parameter-types';

const source = {
  type: 'object',
  additionalProperties: false,
  required: ['document', 'part', 'table', 'step'],
  properties: {
    document: { type: 'string', minLength: 1 },
    part: { type: 'string', minLength: 1 },
    table: { type: 'string', minLength: 1 },
    step: { type: 'string', minLength: 1 },
    quote: { type: 'string' },
  },
} as const;
const sources = { type: 'array', minItems: 1, items: source } as const;

/**
 * A reading the procedure's words leave open (what "within", "previously" or "history of" is taken to mean), marked so
 * that policy staff can find, answer and confirm it: on a parameter, a derived fact, a fact default or a rule. The
 * loader says what is wrong with one in words (interpretation-problems.ts), not as this schema's keyword errors.
 */
export const interpretation = {
  type: 'object',
  additionalProperties: false,
  required: ['question', 'chosen'],
  properties: {
    question: { type: 'string', minLength: 10, pattern: '\\?$', description: 'What the procedure leaves open, as a question a policy officer can answer' },
    chosen: { type: 'string', minLength: 20, description: 'The reading the rules apply' },
    confirmedBy: { type: 'string', minLength: 1, description: 'Who in policy confirmed the reading (with confirmedOn)' },
    confirmedOn: { type: 'string', format: 'date', description: 'The day they confirmed it (with confirmedBy)' },
  },
  // For readers of the schema (the OpenAPI document); Ajv's draft-07 does not apply it: the loader checks the pair.
  dependentRequired: { confirmedBy: ['confirmedOn'], confirmedOn: ['confirmedBy'] },
} as const;

const condition = {
  $id: 'condition',
  type: 'object',
  oneOf: [
    {
      required: ['all'],
      properties: { all: { type: 'array', items: { $ref: 'condition' } }, name: { type: 'string' }, priority: { type: 'number' } },
      additionalProperties: false,
    },
    {
      required: ['any'],
      properties: { any: { type: 'array', items: { $ref: 'condition' } }, name: { type: 'string' }, priority: { type: 'number' } },
      additionalProperties: false,
    },
    { required: ['not'], properties: { not: { $ref: 'condition' }, name: { type: 'string' }, priority: { type: 'number' } }, additionalProperties: false },
    {
      required: ['fact', 'operator', 'value'],
      properties: {
        fact: { type: 'string', minLength: 1 },
        operator: { type: 'string', minLength: 1 },
        value: {},
        path: { type: 'string' },
        params: { type: 'object' },
        name: { type: 'string' },
        priority: { type: 'number' },
      },
      additionalProperties: false,
    },
  ],
} as const;

export const ruleFileSchema = {
  $id: 'rule-file',
  type: 'object',
  additionalProperties: false,
  required: ['ruleSet', 'title', 'description', 'documents', 'requires', 'parameters', 'derivedFacts', 'outcome', 'rules'],
  properties: {
    $schema: { type: 'string' },
    ruleSet: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' },
    effectiveFrom: { type: 'string', format: 'date' },
    effectiveTo: { type: 'string', format: 'date' },
    title: { type: 'string', minLength: 1 },
    description: { type: 'string', minLength: 1 },
    documents: { type: 'object', additionalProperties: { type: 'string' } },
    requires: { type: 'array', items: { type: 'string' } },
    factDefaults: {
      type: 'object',
      description:
        'Fact path → the value this rule set takes the fact to be when a request leaves it out, with why (sources). Each one applied is listed in the decision (defaultsApplied).',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['value', 'description', 'sources'],
        properties: {
          value: { description: 'A value the fact can hold (the loader checks it against the fact vocabulary)' },
          description: { type: 'string', minLength: 1 },
          interpretation,
          sources,
        },
      },
    },
    parameters: { type: 'object', additionalProperties: parameterSchema(sources, interpretation) },
    derivedFacts: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['kind', 'description'],
        properties: {
          kind: { enum: ['count', 'countCurrent', 'firstCurrent', 'maxPerGroup', 'distinctValues', 'missingValues', 'daysSince', 'daysPast'] },
          description: { type: 'string', minLength: 1 },
          interpretation,
          list: { type: 'string' },
          where: {
            type: 'object',
            description:
              'Entry field → what it must be: a value, a list of values, null (absent), { "present": true }, a parameter { "param": name }, or another fact of the case { "fact": path }',
            additionalProperties: {
              anyOf: [
                { type: ['string', 'number', 'boolean', 'null', 'array'] },
                { type: 'object', required: ['param'], properties: { param: { type: 'string', minLength: 1 } }, additionalProperties: false },
                { type: 'object', required: ['fact'], properties: { fact: { type: 'string', minLength: 1 } }, additionalProperties: false },
                { type: 'object', required: ['present'], properties: { present: { const: true } }, additionalProperties: false },
              ],
            },
          },
          on: {
            type: 'string',
            description: 'A date fact of the case the derived fact is reckoned on when the case gives it; the as-of date when it does not',
          },
          endedBy: {
            type: 'string',
            description:
              "For entries with a period (countCurrent, firstCurrent): the entry's field holding the day it stops being in force early (a withdrawal)",
          },
          withinMonths: {},
          groupBy: { type: 'string' },
          field: { type: 'string' },
          required: {},
          date: { type: 'string' },
          otherwise: {
            type: 'object',
            additionalProperties: false,
            required: ['date', 'daysBefore'],
            properties: { date: { type: 'string' }, daysBefore: {} },
          },
          after: {},
          workingDays: { type: 'boolean' },
        },
      },
    },
    outcome: { type: 'object' },
    rules: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'description', 'sources', 'conditions', 'event'],
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' },
          description: { type: 'string', minLength: 1 },
          interpretation,
          sources,
          conditions: { $ref: 'condition' },
          event: {
            type: 'object',
            required: ['type'],
            additionalProperties: false,
            properties: { type: { type: 'string', minLength: 1 }, params: { type: 'object' } },
          },
          priority: { type: 'integer', minimum: 1 },
          appliesTo: { type: 'object', additionalProperties: { type: 'array' } },
          requiredFor: { type: 'array', items: { type: 'string' }, minItems: 1 },
        },
      },
    },
  },
} as const;

export const conditionSchema = condition;
