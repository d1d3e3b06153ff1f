// The TypeScript client of the Personalised Services decision service. schema.ts is generated from /openapi.json
// (npm run client:generate); the rest is written by hand.
export { createPsClient } from './client';
export type {
  BatchDecisionLine,
  BatchProblemLine,
  BatchRequestLine,
  BatchResultLine,
  Decision,
  DecisionFor,
  DecisionOf,
  Engine,
  EvaluateOptions,
  EvaluateRequest,
  Explain,
  ForRuleSet,
  PsClient,
  PsClientOptions,
  RuleSetDetail,
  RuleSetName,
  RuleSetSummary,
  ShortDecision,
  SummaryDecision,
} from './client';
export type { LineSource } from './ndjson';
export {
  ForbiddenError,
  InvalidRequestError,
  NotFoundError,
  ProblemError,
  RateLimitedError,
  UnauthorizedError,
  retryAfterSeconds,
  type ErrorCode,
  type Problem,
  type ProblemItem,
} from './problem';
export type { components, operations, paths } from './schema';
