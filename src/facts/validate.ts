// Checks a request against the fact vocabulary and a rule set's required facts, reporting every problem.
import Ajv, { type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { DecisionError, type Issue } from '../errors';
import { caseFactsSchema, evaluateRequestSchema } from './schema';

export type CaseFacts = Record<string, unknown>;

export interface EvaluateRequest {
  asOf?: string;
  facts: CaseFacts;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true });
addFormats(ajv, ['date']);
const validateFacts = ajv.compile<CaseFacts>(caseFactsSchema);
const validateRequest = ajv.compile<EvaluateRequest>(evaluateRequestSchema);

/** A property name as one JSON pointer token (RFC 6901): `~` and `/` escaped, as Ajv's instancePath already is. */
export const pointerToken = (name: string): string => name.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * A copy to fill defaults into. structuredClone recurses, and gives up (RangeError) a few thousand
 * levels down; no request that deep is a case, so it is refused as one that is not.
 */
function cloned<T>(value: T): T {
  try {
    return structuredClone(value);
  } catch (error) {
    // By name: the RangeError may come from another realm (structuredClone's own), where instanceof would miss it.
    if ((error as Error | null)?.name === 'RangeError') throw new DecisionError('invalid-request', 'The request is nested too deeply to be a case.', [{ pointer: '', message: 'is nested too deeply' }]);
    throw error;
  }
}

function describe(error: ErrorObject): Issue {
  const at = error.instancePath;
  switch (error.keyword) {
    case 'required': {
      const missing = (error.params as { missingProperty: string }).missingProperty;
      return { pointer: `${at}/${pointerToken(missing)}`, message: `${missing} is required` };
    }
    case 'additionalProperties': {
      const extra = (error.params as { additionalProperty: string }).additionalProperty;
      return { pointer: `${at}/${pointerToken(extra)}`, message: `${extra} is not part of the fact vocabulary (see DOMAIN.md, CaseFacts)` };
    }
    case 'enum': {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
      return { pointer: at, message: `must be one of: ${allowed.map((v) => JSON.stringify(v)).join(', ')}` };
    }
    case 'format':
      return { pointer: at, message: 'must be a real calendar date written YYYY-MM-DD' };
    case 'type':
      return { pointer: at, message: `must be of type ${(error.params as { type: string }).type}` };
    default:
      return { pointer: at, message: error.message ?? 'is invalid' };
  }
}

function issuesOf(errors: ErrorObject[] | null | undefined, prefix: string): Issue[] {
  const seen = new Set<string>();
  const issues: Issue[] = [];
  for (const error of errors ?? []) {
    const issue = describe(error);
    issue.pointer = prefix + issue.pointer;
    const key = `${issue.pointer} ${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push(issue);
    }
  }
  return issues;
}

function valueAt(facts: CaseFacts, path: string): unknown {
  let value: unknown = facts;
  for (const key of keysOf(path)) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A path's keys, split once: batch triage checks the same few required paths for every record. */
const splitPaths = new Map<string, readonly string[]>();
function keysOf(path: string): readonly string[] {
  let keys = splitPaths.get(path);
  if (!keys) {
    keys = path.split('.');
    if (splitPaths.size < 1000) splitPaths.set(path, keys);
  }
  return keys;
}

function missingRequired(facts: CaseFacts, requires: readonly string[], ruleSet: string, prefix: string): Issue[] {
  const issues: Issue[] = [];
  for (const path of requires) {
    if (valueAt(facts, path) === undefined) issues.push({ pointer: `${prefix}/${keysOf(path).join('/')}`, message: `${path} is required by the ${ruleSet} rule set` });
  }
  return issues;
}

/**
 * Validates an evaluate request body, fills in DOMAIN.md's defaults (lists empty, flags false) and
 * checks the facts the rule set needs are present. The body is copied, never mutated, unless the
 * caller owns a freshly parsed body (`copy: false`: the API's routes) and the copy would be waste.
 */
export function parseEvaluateRequest(body: unknown, ruleSet: string, requires: readonly string[], { copy = true }: { copy?: boolean } = {}): EvaluateRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new DecisionError('invalid-request', 'The request body must be a JSON object { "asOf"?, "facts" }.', [
      { pointer: '', message: 'must be a JSON object with a facts member' },
    ]);
  }
  const request = (copy ? cloned(body) : body) as EvaluateRequest;
  if (!validateRequest(request)) {
    const issues = issuesOf(validateRequest.errors, '');
    const facts = (request as unknown as { facts?: unknown }).facts;
    if (facts !== null && typeof facts === 'object' && !Array.isArray(facts)) {
      const reported = new Set(issues.map((i) => i.pointer));
      issues.push(...missingRequired(facts as CaseFacts, requires, ruleSet, '/facts').filter((i) => !reported.has(i.pointer)));
    }
    throw new DecisionError('invalid-request', 'The request does not match the contract.', issues);
  }
  const missing = missingRequired(request.facts, requires, ruleSet, '/facts');
  if (missing.length > 0) {
    throw new DecisionError('invalid-request', `The ${ruleSet} rule set needs facts that were not given.`, missing);
  }
  return request;
}

/**
 * Validates bare CaseFacts against the vocabulary and fills in its defaults, with pointers relative
 * to the facts object. `copy: false` fills the defaults into `facts` itself: for callers that own
 * a freshly parsed object (batch triage), where a deep copy per record is measurable.
 */
export function checkCaseFacts(facts: unknown, { copy = true }: { copy?: boolean } = {}): CaseFacts {
  if (facts === null || typeof facts !== 'object' || Array.isArray(facts)) {
    throw new DecisionError('invalid-request', 'Facts must be a JSON object.', [{ pointer: '', message: 'must be an object' }]);
  }
  const checked = (copy ? cloned(facts) : facts) as CaseFacts;
  if (!validateFacts(checked)) {
    throw new DecisionError('invalid-request', 'The facts do not match the vocabulary.', issuesOf(validateFacts.errors, ''));
  }
  return checked;
}

/** Refuses checked facts that lack a fact the rule set requires. */
export function requireFacts(facts: CaseFacts, ruleSet: string, requires: readonly string[]): void {
  const missing = missingRequired(facts, requires, ruleSet, '');
  if (missing.length > 0) throw new DecisionError('invalid-request', `The ${ruleSet} rule set needs facts that were not given.`, missing);
}


