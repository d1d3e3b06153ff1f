// The typed surface a caseworker tool calls: openapi-fetch typed by the generated schema (schema.ts) for the paths,
// parameters and bodies, and by hand what a generator does badly: an NDJSON batch streamed both ways, retries on 429
// that honour Retry-After, every non-2xx thrown as a typed ProblemError, and a decision narrowed to its rule set.
import createClient, { type Client } from 'openapi-fetch';
import { ndjsonLines, ndjsonStream, type LineSource } from './ndjson';
import { problemError, RateLimitedError } from './problem';
import type { components, operations, paths } from './schema';

type Schemas = components['schemas'];
export type RuleSetName = Schemas['RuleSetName'];
export type EvaluateRequest = Schemas['EvaluateRequest'];
export type Decision = Schemas['Decision'];
export type SummaryDecision = Schemas['SummaryDecision'];
export type ShortDecision = Schemas['ShortDecision'];
export type RuleSetSummary = Schemas['RuleSetSummary'];
export type RuleSetDetail = Schemas['RuleSetDetail'];
/** One request line of a batch: `{ id?, asOf?, facts }`. */
export type BatchRequestLine = Schemas['BatchRequestLine'];
/** One answer line of a batch: `{ line, id, decision }` or `{ line, id, problem }`. */
export type BatchResultLine = Schemas['BatchResultLine'];
/** How much of a decision the answer carries: full (Decision), summary (SummaryDecision) or none (ShortDecision). */
export type Explain = NonNullable<NonNullable<operations['evaluate']['parameters']['query']>['explain']>;
/** Which evaluator decides: compiled, or reference (json-rules-engine itself, for an auditor). */
export type Engine = Schemas['Evaluator'];

/**
 * T's branch for rule set N when T is a union discriminated by `ruleSet` (each branch `ruleSet: "<name>"` with its
 * outcome's own type), so that `evaluate('segment-allocation', …)` answers a decision whose `outcome` is
 * SegmentAllocationOutcome. Where the document does not (yet) discriminate, so that no branch has that literal
 * `ruleSet`, Extract gives never and this is T as it is: the plain response type, never `never`.
 */
export type ForRuleSet<T, N extends string> = [Extract<T, { ruleSet: N }>] extends [never] ? T : Extract<T, { ruleSet: N }>;

/** The decision an explain level answers with (the service's default is full). */
export type DecisionOf<E extends Explain> = E extends 'summary' ? SummaryDecision : E extends 'none' ? ShortDecision : Decision;

/** The decision evaluate answers for rule set N at explain level E. */
export type DecisionFor<N extends RuleSetName, E extends Explain = 'full'> = ForRuleSet<DecisionOf<E>, N>;

/** An answer line holding a decision, its decision narrowed as evaluate's is. */
export type BatchDecisionLine<N extends RuleSetName = RuleSetName, E extends Explain = 'full'> = Omit<
  Extract<BatchResultLine, { decision: unknown }>,
  'decision'
> & {
  decision: DecisionFor<N, E>;
};
/** An answer line holding the problem with its request line (or the final line of a batch stopped by a bound). */
export type BatchProblemLine = Extract<BatchResultLine, { problem: unknown }>;

export interface PsClientOptions {
  /** Where the service is, e.g. https://decisions.example.gov.au (no trailing path). */
  baseUrl: string;
  /** The API key, sent as `Authorization: Bearer <key>`. */
  apiKey: string;
  /** The fetch to send with (default: the global fetch, Node's own from 18 on). */
  fetch?: typeof globalThis.fetch;
  /** How many times a request answered 429 is sent again, each after its Retry-After (default 3; 0: never). */
  maxRetries?: number;
  /** The longest Retry-After, in seconds, the client waits out; a 429 asking for longer is thrown at once (default 60). */
  maxRetryAfter?: number;
}

export interface EvaluateOptions<E extends Explain> {
  explain?: E;
  engine?: Engine;
}

export interface PsClient {
  /**
   * Decides one case. Generic in the rule set's name: the decision's type is that rule set's branch of the document's
   * Decision (or SummaryDecision, ShortDecision with `explain`), where the document discriminates them by `ruleSet`.
   */
  evaluate<N extends RuleSetName, E extends Explain = 'full'>(ruleSet: N, body: EvaluateRequest, options?: EvaluateOptions<E>): Promise<DecisionFor<N, E>>;
  /**
   * Decides many cases in one streamed request: the lines (objects, or strings sent as they are) are sent as NDJSON as
   * they are pulled, and the answer lines are yielded as they arrive, one per request line, in order. A problem with a
   * line is an answer line, not an exception; a problem with the whole request (401, 404, 415, …) is thrown.
   */
  evaluateBatch<N extends RuleSetName, E extends Explain = 'full'>(
    ruleSet: N,
    lines: LineSource<BatchRequestLine | string>,
    options?: EvaluateOptions<E>,
  ): AsyncGenerator<BatchDecisionLine<N, E> | BatchProblemLine, void, undefined>;
  /** Every rule set, with the version in force today and all its versions. */
  ruleSets(): Promise<RuleSetSummary[]>;
  /** One rule set's version in force on asOf (default: today in Sydney): its rules, parameters and sources. */
  ruleSet(name: RuleSetName, options?: { asOf?: string }): Promise<RuleSetDetail>;
  /** The openapi-fetch client underneath, for the routes this surface does not wrap (it neither retries nor throws). */
  readonly raw: Client<paths>;
}

const NDJSON = 'application/x-ndjson';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What openapi-fetch answers, whatever the route. */
interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

export function createPsClient(options: PsClientOptions): PsClient {
  const { maxRetries = 3, maxRetryAfter = 60 } = options;
  if (!Number.isSafeInteger(maxRetries) || maxRetries < 0) throw new RangeError(`maxRetries must be a whole number, 0 or more (got ${maxRetries})`);
  const raw = createClient<paths>({
    baseUrl: options.baseUrl,
    headers: { Authorization: `Bearer ${options.apiKey}` },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });

  /**
   * Sends, and sends again after each 429 while retries are left and the request can be sent again (`replayable`):
   * waiting the Retry-After the service gave (1 s when it gave none). Any other non-2xx, or a 429 past those bounds, is
   * thrown as its ProblemError.
   */
  async function send<T>(attempt: () => Promise<Answer<T>>, replayable: () => boolean = () => true): Promise<{ data: NonNullable<T>; response: Response }> {
    for (let retries = 0; ; retries += 1) {
      const { data, error, response } = await attempt();
      if (response.ok) {
        if (data === undefined || data === null) throw new Error(`${response.status} from ${response.url} with no body`);
        return { data, response };
      }
      const problem = problemError(response, error);
      if (!(problem instanceof RateLimitedError) || retries >= maxRetries || !replayable()) throw problem;
      const wait = problem.retryAfter ?? 1;
      if (wait > maxRetryAfter) throw problem;
      await sleep(wait * 1000);
    }
  }

  async function evaluate<N extends RuleSetName, E extends Explain = 'full'>(
    ruleSet: N,
    body: EvaluateRequest,
    evaluateOptions: EvaluateOptions<E> = {},
  ): Promise<DecisionFor<N, E>> {
    const { data } = await send(() => raw.POST('/v1/rulesets/{name}/evaluate', { params: { path: { name: ruleSet }, query: { ...evaluateOptions } }, body }));
    // The document's answer for this route is Decision | SummaryDecision | ShortDecision; which one follows explain,
    // and which branch follows the rule set asked for (the service's answers are checked against the document).
    return data as DecisionFor<N, E>;
  }

  async function* evaluateBatch<N extends RuleSetName, E extends Explain = 'full'>(
    ruleSet: N,
    lines: LineSource<BatchRequestLine | string>,
    evaluateOptions: EvaluateOptions<E> = {},
  ): AsyncGenerator<BatchDecisionLine<N, E> | BatchProblemLine, void, undefined> {
    let sourceError: { error: unknown } | undefined;
    // Only an array can be sent again after a 429: any other source (a generator, a stream) is read as it is sent, so
    // once a request has gone out its lines have been consumed and cannot be had again. Such a batch is never retried;
    // its 429 is thrown, for the caller to decide.
    const replayable = () => Array.isArray(lines);
    // Ends the request when the caller leaves the loop early (or the answer fails): cancelling the answer alone would
    // leave the body being sent, and an endless source sent for ever.
    const abort = new AbortController();
    try {
      const { data } = await send(
        () =>
          raw.POST('/v1/rulesets/{name}/evaluate-batch', {
            params: { path: { name: ruleSet }, query: { ...evaluateOptions } },
            // openapi-fetch calls bodySerializer only for a body given, and its default would JSON.stringify it: the
            // document's body is one NDJSON string, which would go out as a single quoted JSON string. The serializer
            // hands fetch the lines as a byte stream instead, made afresh for each attempt.
            body: '',
            bodySerializer: () =>
              ndjsonStream(lines, abort.signal, (error) => {
                sourceError = { error };
              }),
            headers: { 'Content-Type': NDJSON },
            // Node's fetch refuses a stream body without duplex: 'half' (the one value the Fetch standard defines). It
            // still hands over the answer while the body is being sent, which is what lets the lines flow both ways.
            duplex: 'half',
            parseAs: 'stream',
            signal: abort.signal,
          }),
        replayable,
      );
      for await (const line of ndjsonLines(data)) yield line as BatchDecisionLine<N, E> | BatchProblemLine;
    } catch (error) {
      // A source that failed (or a raw line that is not one line) is the cause; fetch only saw its body end.
      throw sourceError ? sourceError.error : error;
    } finally {
      abort.abort();
    }
    if (sourceError) throw sourceError.error;
  }

  return {
    evaluate,
    evaluateBatch,
    async ruleSets() {
      const { data } = await send(() => raw.GET('/v1/rulesets'));
      return data.ruleSets;
    },
    async ruleSet(name, ruleSetOptions = {}) {
      const { data } = await send(() => raw.GET('/v1/rulesets/{name}', { params: { path: { name }, query: { ...ruleSetOptions } } }));
      return data;
    },
    raw,
  };
}
