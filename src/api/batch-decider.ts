// A decider thread (node:worker_threads) of evaluate-batch: decides the lines it is sent as the request's own thread
// would (batch-line.ts), while that thread commits the decisions already made and writes their answers. It is given
// the rule texts of the batch's versions and compiles them itself (a compiled rule set holds closures, which no
// message can carry); the version hashes it finds must be the ones the batch resolved, or it refuses.
import { parentPort } from 'node:worker_threads';
import { decidedColumns } from '../decisions/recorder';
import { loadRuleTexts, type RuleSetVersions } from '../loader/load';
import { RULE_SET_MODULES } from '../rulesets';
import { answerLine, decisionText, type LineAnswer, type LineContext, type LineId } from './batch-line';
import { outcomeLabel } from './metrics';
import { DECIDED, FAILED, PROBLEM, type FromDecider, type JobResult, type ToDecider } from './batch-deciders';

/** The rule sets compiled here, by key (their version hashes), or why they could not be: a batch after the first reuses them. */
const compiled = new Map<string, RuleSetVersions | Error>();
/** Rule sets beyond this many are compiled again if asked for: a reload a day keeps a handful. */
const COMPILED_KEPT = 16;

function compile(message: Extract<ToDecider, { kind: 'rules' }>): RuleSetVersions | Error {
  try {
    // The modules shipped: a rule set whose module is not one of them (a test's own) is decided in the request's thread.
    const registry = loadRuleTexts(message.calendarText, message.files, { modules: RULE_SET_MODULES });
    const versions = registry.ruleSets.get(message.name);
    const found = versions?.versions.map((v) => v.version).join(',');
    if (!versions || found !== message.key)
      throw new Error(`the rule texts sent compile to versions ${found ?? 'none'} of ${message.name}, not ${message.key}`);
    return versions;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function decide(job: Extract<ToDecider, { kind: 'job' }>): { result: JobResult; transfer: ArrayBuffer[] } {
  const versions = compiled.get(job.key);
  if (versions === undefined) throw new Error(`no rules were sent for ${job.key}`);
  if (versions instanceof Error) throw versions;
  const context: LineContext = { versions, engine: 'compiled', today: job.today, explain: job.explain, instance: job.instance };
  const bytes = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength);
  const count = job.ends.length;
  const texts: string[] = [];
  const lengths = new Uint32Array(count);
  const kinds = new Uint8Array(count);
  const ids: LineId[] = [];
  const columns: (string | null)[] = [];
  const failures: JobResult['failures'] = [];
  const decisions: JobResult['decisions'] = [];
  const counted = new Map<string, JobResult['decisions'][number]>();
  let start = 0;
  for (let i = 0; i < count; i += 1) {
    const end = job.ends[i] as number;
    const line = job.first + i;
    let answer = answerLine(line, bytes.subarray(start, end), context) as LineAnswer;
    start = end;
    if (answer.kind === 'decided') {
      try {
        const { decided } = answer;
        const record = decidedColumns(decided, job.keepFacts);
        const text = decisionText(line, answer.id, decided, record[0] as string, job.explain, { outcome: record[7] as string, fired: record[8] as string });
        texts.push(text);
        lengths[i] = text.length;
        kinds[i] = DECIDED;
        ids.push(answer.id);
        for (const column of record) columns.push(column);
        const { ruleSet, evaluator } = decided.decision;
        const label = outcomeLabel(decided.decision);
        const key = `${ruleSet}\n${label}\n${evaluator}`;
        const seen = counted.get(key);
        if (seen) seen.count += 1;
        else {
          const entry = { ruleSet, label, evaluator, count: 1 };
          counted.set(key, entry);
          decisions.push(entry);
        }
        continue;
      } catch (error) {
        answer = { kind: 'failed', line, id: answer.id, error };
      }
    }
    if (answer.kind === 'problem') {
      texts.push(answer.text);
      lengths[i] = answer.text.length;
      kinds[i] = PROBLEM;
    } else {
      // The request's thread logs it and answers an internal problem: errors cross threads as their text.
      const error = answer.error instanceof Error ? answer.error : new Error(String(answer.error));
      kinds[i] = FAILED;
      ids.push(answer.id);
      failures.push({ message: error.message, stack: error.stack });
    }
  }
  const result: JobResult = { text: texts.join(''), lengths, kinds, ids, columns: JSON.stringify(columns), failures, decisions };
  return { result, transfer: [lengths.buffer, kinds.buffer] };
}

const port = parentPort;
if (port) {
  port.on('message', (message: ToDecider) => {
    if (message.kind === 'rules') {
      if (compiled.size >= COMPILED_KEPT) compiled.delete(compiled.keys().next().value as string);
      compiled.set(message.key, compile(message));
      return;
    }
    let decided: ReturnType<typeof decide>;
    try {
      decided = decide(message);
    } catch (error) {
      // The job is decided in the request's own thread instead.
      port.postMessage({ kind: 'refused', job: message.job, message: (error as Error).message } satisfies FromDecider);
      return;
    }
    // The counts and kinds are handed over, not copied.
    port.postMessage({ kind: 'done', job: message.job, result: decided.result } satisfies FromDecider, decided.transfer);
  });
  // Loaded (the engine, the schemas compiled): jobs may come.
  port.postMessage({ kind: 'ready' } satisfies FromDecider);
}
