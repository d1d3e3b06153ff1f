// Triage of one chunk of input lines, inside a worker: parse, validate, decide, serialize, tally.
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { dayNumber, isCalendarDate, weekStart } from '../dates/calendar';
import { hash as oneShotHash } from 'node:crypto';
import { decide, decideRun, runOf, type CaseRun, type Decision, type Verdict } from '../engine/evaluate';
import type { CompiledRuleSet } from '../engine/compile';
import { holdsUntil } from '../engine/holds-until';
import { summaryReasons } from '../engine/reasons';
import { DecisionError, type Issue } from '../errors';
import { checkCaseFacts, requireFacts } from '../facts/validate';
import type { RuleRegistry, RuleSetVersions } from '../loader/load';
import { RULE_SET_MODULES } from '../rulesets';
import { outcomeCells } from './columns';
import { errorsCsvRows, errorsNdjsonLine } from './errors-file';
import { issueLocator, rowConverter, type CellIssue, type ConvertedRow } from './mapping';
import { PreviousRecords, stillHolds, type PreviousRecord } from './previous';
import type { ChunkCounts, ChunkMessage, ChunkResult, RecordFormat, TriageSetup } from './protocol';
import { actionFunction, namedRuleSets, NO_DUE_DAY, sortKey, tierFunction, type ActionOf, type TierOf } from './priority';
import type { ErrorKind } from './summary';

/**
 * What a record's line is written from: the outcome, fired rules, until when the verdict holds and the first reason,
 * and with --explain the explanation.
 */
export interface TriageDecision {
  ruleSet: string;
  version: string;
  outcome: Record<string, unknown>;
  fired: string[];
  holdsUntil: string | null;
  reason: string | null;
  explanation?: Decision['explanation'];
}

/** The earlier of two holdsUntil dates, null being "no change before the calendar ends". */
export const earlier = (a: string | null, b: string | null): string | null => (a === null ? b : b === null || a < b ? a : b);

/**
 * A short digest of a record's input (its NDJSON line, or its CSV row's cells): what --previous compares to tell a
 * record whose facts changed since the last run, which holdsUntil alone cannot know. The text as read, not the facts
 * parsed: serialising them again would cost more than the digest (a record whose line changed only in its spacing is
 * decided again, which is harmless). Not a security measure: any digest that changes with the text would do. Hashed in
 * one call: a Hash object per record cost more than its hashing.
 */
export const inputDigest = (text: string): string => oneShotHash('sha1', text, 'hex').slice(0, 16);

/** The first reason given by the decisions at the places listed, looked for list by list. */
function firstReason(decisions: readonly TriageDecision[], ...places: (readonly number[])[]): string | null {
  for (const list of places)
    for (const at of list) {
      const reason = decisions[at]?.reason;
      if (reason) return reason;
    }
  return null;
}

/**
 * The summary's tally keys (summary.ts reads them), each text written once and looked up after: ten keys a record
 * written afresh cost as much as deciding it by one rule set.
 */
class TallyKeys {
  readonly tiers: readonly string[];
  private readonly versions: Map<string, string>[];
  private readonly verdicts: Map<unknown, string>[];
  private readonly programs = new Map<string, { program: string; overdue: string; noDue: string; tiers: string[] }>();
  private readonly weeks = new Map<string, { week: string; overdue: string }>();

  constructor(ruleSets: number, tiers: number) {
    this.tiers = Array.from({ length: tiers }, (_, t) => `tier:${t + 1}`);
    this.versions = Array.from({ length: ruleSets }, () => new Map<string, string>());
    this.verdicts = Array.from({ length: ruleSets }, () => new Map<unknown, string>());
  }

  version(at: number, ruleSet: string, version: string): string {
    const known = this.versions[at] as Map<string, string>;
    let key = known.get(version);
    if (key === undefined) known.set(version, (key = `version:${ruleSet}:${version}`));
    return key;
  }

  verdict(at: number, column: string, value: unknown): string {
    const known = this.verdicts[at] as Map<unknown, string>;
    let key = known.get(value);
    if (key === undefined) known.set(value, (key = `verdict:${column}:${String(value)}`));
    return key;
  }

  program(program: string, tiers: number) {
    let keys = this.programs.get(program);
    if (keys === undefined) {
      keys = {
        program: `program:${program}`,
        overdue: `overdue:${program}`,
        noDue: `no-due:${program}`,
        tiers: Array.from({ length: tiers }, (_, t) => `tier-program:${t + 1}:${program}`),
      };
      this.programs.set(program, keys);
    }
    return keys;
  }

  /** The keys of the week (its Monday) a due date falls in. */
  week(dueBy: string): { week: string; overdue: string } {
    let keys = this.weeks.get(dueBy);
    if (keys === undefined) {
      const monday = weekStart(dueBy);
      keys = { week: `week:${monday}`, overdue: `week-overdue:${monday}` };
      this.weeks.set(dueBy, keys);
    }
    return keys;
  }
}

/** The versions in force on one date, or why there are none; most backlogs share one date. */
type InForce = { versions: CompiledRuleSet[] } | { error: DecisionError };

/** A chunk's output to start with: its input, 64 KiB, written out as NDJSON is about four times as long. */
const OUT_BYTES = 256 * 1024;

/**
 * A chunk's output, encoded as each record is written into a buffer that is transferred to the main thread and comes
 * back for reuse (ChunkMessage.recycled). Not strings joined at the end: a chunk's text, joined, copied again to cross
 * to the main thread and encoded there, cost a fifth of a run's CPU, and texts that lived as long as their chunk
 * outlived the young generation.
 */
class OutBytes {
  private bytes: Buffer;
  used = 0;

  constructor(recycled: ArrayBuffer | undefined) {
    this.bytes = Buffer.from(recycled ?? new ArrayBuffer(OUT_BYTES));
  }

  /** Appends `text` as UTF-8; returns its length in bytes. */
  write(text: string): number {
    // A UTF-16 code unit is at most 3 bytes of UTF-8: only a text that might not fit is measured.
    if (this.used + 3 * text.length > this.bytes.length) {
      const need = this.used + Buffer.byteLength(text);
      if (need > this.bytes.length) {
        const bigger = Buffer.from(new ArrayBuffer(Math.max(2 * this.bytes.length, need)));
        this.bytes.copy(bigger, 0, 0, this.used);
        this.bytes = bigger;
      }
    }
    const written = this.bytes.write(text, this.used, 'utf8');
    this.used += written;
    return written;
  }

  /** The bytes written, over the buffer the result transfers. */
  view(): Uint8Array {
    return new Uint8Array(this.bytes.buffer, this.bytes.byteOffset, this.used);
  }
}

/** Where one chunk's output accumulates: records encoded as they are written, errors as strings joined at the end. */
class ChunkSink {
  readonly err: string[] = [];
  readonly keys: number[] = [];
  readonly lengths: number[] = [];
  readonly cuts: number[] = [];
  readonly counts: ChunkCounts = { lines: 0, results: 0, errors: 0, blank: 0, carried: 0, tally: {} };

  /** `input`: the input's format, which the errors file's follows (errors-file.ts). */
  constructor(
    readonly out: OutBytes,
    private readonly input: RecordFormat,
  ) {}

  /** Counted here, not in `counts.tally`: a Map's string keys cost less than an object's, which has thousands. */
  readonly tally = new Map<string, number>();

  count(key: string): void {
    this.tally.set(key, (this.tally.get(key) ?? 0) + 1);
  }

  /** A record refused: written as the errors file's format says (a CSV row per issue placed in a cell), counted once. */
  error(line: number, id: unknown, kind: ErrorKind, message: string, issues: readonly Issue[]): void {
    this.err.push((this.input === 'csv' ? errorsCsvRows : errorsNdjsonLine)(line, id, kind, message, issues));
    this.counts.errors += 1;
    this.count(`error:${kind}`);
  }
}

/** Decides chunks for one worker: the rules loaded once, versions resolved once per as-of date. */
export class ChunkTriage {
  private readonly inForce = new Map<string, InForce>();
  private readonly convertRow?: (row: readonly string[]) => ConvertedRow;
  /** CSV input: places a problem of a row's facts in its cells (mapping.ts). */
  private readonly locate?: (issue: Issue, row: readonly string[]) => CellIssue;
  /** CSV input: the cells of the row being decided, for `located`. */
  private row: readonly string[] = [];
  private readonly tierOf: TierOf;
  private readonly actionOf: ActionOf;
  /** The tiers' names, tier 1 first, and as JSON. */
  private readonly tierNames: readonly string[];
  private readonly tierJson: readonly string[];
  /** The run's rule sets' names as JSON keys, in order. */
  private readonly ruleSetKeys: readonly string[];
  /** Per tier: the places of the rule sets its conditions name, whose reasons explain it. */
  private readonly tierNamed: readonly (readonly number[])[];
  /** The places of the run's rule sets, in order. */
  private readonly everyRuleSet: readonly number[];
  /** Per rule set of the run, in order: who must approve what (its module says), if anyone may need to. */
  private readonly approvals: readonly ({ field: string; what: string } | undefined)[];
  /** Per rule set of the run, in order: its outcome's headline field, counted in the summary (its module says which). */
  private readonly verdicts: readonly (string | undefined)[];
  /** Per rule set of the run: its headline's column name, "<rule set>.<field>" (the summary's key), written once. */
  private readonly verdictColumns: readonly string[];
  /** Per rule set of the run, in order: the outcome field holding the date the case is due by, if it has one. */
  private readonly dueFields: readonly (string | undefined)[];
  /** --previous: the last run's queue, read by id. */
  private readonly previous?: PreviousRecords;

  constructor(
    private readonly registry: RuleRegistry,
    private readonly setup: TriageSetup,
  ) {
    for (const name of setup.ruleSets) if (!registry.ruleSets.has(name)) throw new Error(`no rule set "${name}" in ${setup.rulesDirectory}`);
    this.tierOf = tierFunction(setup.priority, setup.ruleSets);
    this.actionOf = actionFunction(setup.priority, setup.ruleSets);
    this.tierNames = setup.priority.tiers.map((tier) => tier.name);
    this.tierJson = this.tierNames.map((name) => JSON.stringify(name));
    this.ruleSetKeys = setup.ruleSets.map((name) => JSON.stringify(name));
    this.keys = new TallyKeys(setup.ruleSets.length, this.tierNames.length);
    this.tierNamed = setup.priority.tiers.map((tier) => namedRuleSets(tier, setup.ruleSets));
    this.everyRuleSet = setup.ruleSets.map((_, i) => i);
    this.approvals = setup.ruleSets.map((name) => RULE_SET_MODULES[name]?.approval);
    this.verdicts = setup.ruleSets.map((name) => RULE_SET_MODULES[name]?.verdict);
    this.verdictColumns = setup.ruleSets.map((name, i) => `${name}.${this.verdicts[i]}`);
    this.dueFields = setup.ruleSets.map((name) => RULE_SET_MODULES[name]?.dueBy);
    if (setup.previous) this.previous = new PreviousRecords(setup.previous);
    if (setup.input === 'csv') {
      if (!setup.mapping || !setup.headers) throw new Error('CSV input needs the mapping and the header row');
      this.convertRow = rowConverter(setup.mapping, setup.headers);
      this.locate = issueLocator(setup.mapping, setup.headers);
    }
  }

  /** The summary's tally keys, each written once. */
  private readonly keys: TallyKeys;

  /** Output buffers the main thread has written out, to write the next chunks' output into. */
  private readonly recycled: ArrayBuffer[] = [];

  /** Triages a chunk; the result's buffers are its own (the output's may be one recycled), so they can be transferred. */
  run(chunk: ChunkMessage): ChunkResult {
    if (chunk.recycled) this.recycled.push(...chunk.recycled);
    const sink = new ChunkSink(new OutBytes(this.recycled.pop()), this.setup.input);
    const text = Buffer.from(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength).toString('utf8');
    if (this.setup.input === 'csv') this.csvChunk(text, chunk.firstLine, sink);
    else this.ndjsonChunk(text, chunk.firstLine, sink);
    const result: ChunkResult = {
      type: 'done',
      seq: chunk.seq,
      out: sink.out.view(),
      err: sink.err.join(''),
      input: chunk.data,
      counts: { ...sink.counts, tally: Object.fromEntries(sink.tally) },
    };
    if (this.setup.ranking) {
      result.keys = Int32Array.from(sink.keys);
      result.lengths = Uint32Array.from(sink.lengths);
      result.cuts = Uint32Array.from(sink.cuts);
    }
    return result;
  }

  private ndjsonChunk(text: string, firstLine: number, sink: ChunkSink): void {
    let start = 0;
    let line = firstLine;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const raw = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
      start = end + 1;
      sink.counts.lines += 1;
      this.ndjsonLine(raw, line, sink);
      line += 1;
    }
  }

  private ndjsonLine(raw: string, line: number, sink: ChunkSink): void {
    if (raw.trim() === '') {
      sink.counts.blank += 1;
      return;
    }
    let record: unknown;
    try {
      record = JSON.parse(raw);
    } catch (error) {
      sink.error(line, null, 'not-json', `line ${line} is not valid JSON: ${(error as Error).message}`, [{ pointer: '', message: 'is not valid JSON' }]);
      return;
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      sink.error(line, null, 'not-a-record', `line ${line} is not a JSON object { "id", "facts" }`, [
        { pointer: '', message: 'must be an object { "id", "facts", "asOf"? }' },
      ]);
      return;
    }
    const { id, facts, asOf } = record as { id?: unknown; facts?: unknown; asOf?: unknown };
    const issues: Issue[] = [];
    if (typeof id !== 'string' && typeof id !== 'number') issues.push({ pointer: '/id', message: 'id is required: a string or a number' });
    if (asOf !== undefined && (typeof asOf !== 'string' || !isCalendarDate(asOf)))
      issues.push({ pointer: '/asOf', message: 'must be a real calendar date written YYYY-MM-DD' });
    if (facts === undefined) issues.push({ pointer: '/facts', message: 'facts is required' });
    const shownId = typeof id === 'string' || typeof id === 'number' ? id : null;
    if (issues.length > 0) {
      sink.error(line, shownId, 'not-a-record', `line ${line} is not a triage record { "id", "facts", "asOf"? }`, issues);
      return;
    }
    this.decideRecord(line, shownId as string | number, facts, (asOf as string | undefined) ?? this.setup.asOf, '/facts', raw, sink);
  }

  private csvChunk(text: string, firstLine: number, sink: ChunkSink): void {
    let rows: { record: string[]; info: { lines: number } }[];
    try {
      rows = parseCsv(text, { relax_column_count: true, relax_quotes: true, info: true, skip_empty_lines: false }) as never;
    } catch {
      // One malformed row spoils the chunk's parse: parse line by line so only that line is refused.
      this.csvLineByLine(text, firstLine, sink);
      return;
    }
    let previousEnd = 0;
    for (const { record, info } of rows) {
      const line = firstLine + previousEnd;
      previousEnd = info.lines;
      this.csvRow(record, line, sink);
    }
  }

  private csvLineByLine(text: string, firstLine: number, sink: ChunkSink): void {
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    lines.forEach((raw, i) => {
      const line = firstLine + i;
      let record: string[] | undefined;
      try {
        record = parseCsv(raw, { relax_column_count: true, relax_quotes: true })[0] ?? [''];
      } catch (error) {
        sink.counts.lines += 1;
        sink.error(line, null, 'not-a-row', `line ${line} is not a CSV row: ${(error as Error).message}`, []);
        return;
      }
      this.csvRow(record, line, sink);
    });
  }

  private csvRow(record: readonly string[], line: number, sink: ChunkSink): void {
    sink.counts.lines += 1;
    const headers = this.setup.headers as readonly string[];
    if (record.length === 1 && (record[0] as string).trim() === '') {
      sink.counts.blank += 1;
      return;
    }
    const converted = (this.convertRow as (row: readonly string[]) => ConvertedRow)(record);
    if (record.length !== headers.length) {
      sink.error(line, converted.id, 'not-a-row', `line ${line} has ${record.length} cells; the header has ${headers.length}`, []);
      return;
    }
    if (converted.id === null) {
      const column = (this.setup.mapping as NonNullable<TriageSetup['mapping']>).id;
      converted.issues.unshift({
        pointer: '',
        message: `column "${column}": the record id is empty`,
        header: column,
        cell: record[headers.indexOf(column)] ?? '',
      });
    }
    if (converted.issues.length > 0) {
      sink.error(
        line,
        converted.id,
        'refused-cell',
        `line ${line}: ${converted.issues.length === 1 ? 'a cell was' : `${converted.issues.length} cells were`} refused`,
        converted.issues,
      );
      return;
    }
    this.row = record;
    this.decideRecord(line, converted.id as string, converted.facts, this.setup.asOf, '', record.join('\u001f'), sink);
    this.row = [];
  }

  /**
   * Problems of a record's facts (pointers into them) placed in its input: for NDJSON, pointers into the line
   * (`prefix` the facts' place in it); for CSV, the column, its cell as given and a message in the export's terms.
   */
  private located(issues: readonly Issue[], prefix: string): Issue[] {
    const locate = this.locate;
    if (locate) return issues.map((issue) => locate(issue, this.row));
    return issues.map((issue) => ({ pointer: prefix + issue.pointer, message: issue.message }));
  }

  private versionsOn(asOf: string): InForce {
    let found = this.inForce.get(asOf);
    if (!found) {
      try {
        found = {
          versions: this.setup.ruleSets.map((name) =>
            (this.registry.ruleSets.get(name) as NonNullable<ReturnType<RuleRegistry['ruleSets']['get']>>).resolve(asOf),
          ),
        };
      } catch (error) {
        if (!(error instanceof DecisionError)) throw error;
        found = { error };
      }
      this.inForce.set(asOf, found);
    }
    return found;
  }

  private decideRecord(line: number, id: string | number, rawFacts: unknown, asOf: string, prefix: string, input: string, sink: ChunkSink): void {
    const inForce = this.versionsOn(asOf);
    if ('error' in inForce) {
      sink.error(line, id, 'no-version', inForce.error.message, inForce.error.issues);
      return;
    }
    const digest = inputDigest(input);
    const problems: DecisionError[] = [];
    // Facts the schema refuses, or (the schema satisfied) facts a rule set requires that were not given.
    let kind: ErrorKind = 'missing-fact';
    let facts: Record<string, unknown>;
    try {
      facts = checkCaseFacts(rawFacts, { copy: false });
      for (const ruleSet of inForce.versions) {
        try {
          requireFacts(facts, ruleSet.name, ruleSet.file.requires);
        } catch (error) {
          if (!(error instanceof DecisionError)) throw error;
          problems.push(error);
        }
      }
    } catch (error) {
      if (!(error instanceof DecisionError)) throw error;
      problems.push(error);
      kind = 'invalid-facts';
      facts = {};
    }
    if (problems.length > 0) {
      sink.error(
        line,
        id,
        kind,
        problems.map((p) => p.message).join(' '),
        this.located(
          problems.flatMap((p) => p.issues),
          prefix,
        ),
      );
      return;
    }
    // --previous: a record whose answer still stands is carried over as it was decided, its asOf the day it was.
    const previous = this.previous?.find(id);
    if (previous && stillHolds(previous, digest, asOf, inForce.versions, this.setup.explain)) {
      const decisions = inForce.versions.map(({ name }) => ({ ruleSet: name, ...(previous.results[name] as PreviousRecord['results'][string]) }));
      sink.counts.carried += 1;
      this.write(line, id, String(facts.program), previous.asOf, asOf, decisions, previous.holdsUntil, digest, sink);
      return;
    }
    // The first reason is worked out from the case as the rules read it, explaining only the rule it names: without
    // --explain no record's explanation is built.
    const decisions: TriageDecision[] = [];
    let recordHolds: string | null = null;
    try {
      for (const ruleSet of inForce.versions) {
        const versions = this.registry.ruleSets.get(ruleSet.name) as RuleSetVersions;
        let decided: Decision | Verdict;
        let run: CaseRun;
        if (this.setup.explain) {
          decided = decide(ruleSet, facts, asOf);
          run = runOf(ruleSet, facts, decided);
        } else {
          ({ verdict: decided, run } = decideRun(ruleSet, facts, asOf));
        }
        // The run's fact map lent, as summary.ts lends it: holdsUntil decides the days it tries on it and gives it back as it was.
        const holds = holdsUntil(versions, facts, asOf, decided.outcome, decided.derivedFacts, run.factMap);
        recordHolds = earlier(recordHolds, holds);
        decisions.push({
          ruleSet: decided.ruleSet,
          version: decided.version,
          outcome: decided.outcome,
          holdsUntil: holds,
          reason: summaryReasons(run, facts, 1)[0]?.text ?? null,
          fired: 'fired' in decided ? decided.fired : decided.explanation.filter((r) => r.fired).map((r) => r.rule),
          explanation: 'explanation' in decided ? decided.explanation : undefined,
        });
      }
    } catch (error) {
      // A date beyond the holiday calendar, say: this record cannot be decided; the run goes on.
      const issues = error instanceof DecisionError ? this.located(error.issues, prefix) : [{ pointer: '', message: 'could not be decided' }];
      sink.error(line, id, 'undecidable', error instanceof DecisionError ? error.message : `internal error: ${(error as Error).message}`, issues);
      return;
    }
    this.write(line, id, String(facts.program), asOf, asOf, decisions, recordHolds, digest, sink);
  }

  /**
   * Writes a record's line and counts it: `decidedAsOf` is the date its results were decided as of (an earlier run's for
   * a record carried over), `asOf` the date its priority is worked out as of (whether it is overdue).
   */
  private write(
    line: number,
    id: string | number,
    program: string,
    decidedAsOf: string,
    asOf: string,
    decisions: readonly TriageDecision[],
    recordHolds: string | null,
    digest: string,
    sink: ChunkSink,
  ): void {
    // The case is due by the earliest date any outcome says it must be actioned by; who must approve, from each outcome.
    let dueBy: string | null = null;
    let approver: string | null = null;
    const outcomes: Record<string, unknown>[] = [];
    for (let i = 0; i < decisions.length; i += 1) {
      const decision = decisions[i] as TriageDecision;
      sink.count(this.keys.version(i, decision.ruleSet, decision.version));
      const outcome = decision.outcome;
      outcomes.push(outcome);
      const verdict = this.verdicts[i];
      if (verdict !== undefined) sink.count(this.keys.verdict(i, this.verdictColumns[i] as string, outcome[verdict]));
      const dueField = this.dueFields[i];
      const due = dueField === undefined ? undefined : outcome[dueField];
      if (typeof due === 'string' && (dueBy === null || due < dueBy)) dueBy = due;
      const approval = this.approvals[i];
      const who = approval === undefined ? undefined : outcome[approval.field];
      if (typeof who === 'string') approver = `${approver === null ? '' : `${approver}; `}${approval?.what}: ${who}`;
    }
    // Overdue only where a due date applies to the case (its program's timeframe): null when none does.
    const overdue = dueBy === null ? null : dueBy < asOf;
    const record = { outcomes, overdue, program };
    const tier = this.tierOf(record);
    const tierName = this.tierNames[tier - 1] as string;
    const action = this.actionOf(record, dueBy, approver, asOf);
    const nextAction = action.text;
    // The first reason of the decision the queue line turns on: a rule set the tier names (segment 3, say), else one
    // the next action names (the route), else the first of the run that gives one.
    const reason = firstReason(decisions, this.tierNamed[tier - 1] as readonly number[], action.named, this.everyRuleSet);
    const keys = this.keys.program(program, this.tierNames.length);
    sink.count(this.keys.tiers[tier - 1] as string);
    sink.count(keys.tiers[tier - 1] as string);
    sink.count(keys.program);
    if (overdue) sink.count(keys.overdue);
    if (dueBy === null) sink.count(keys.noDue);
    else {
      const week = this.keys.week(dueBy);
      sink.count(week.week);
      if (overdue) sink.count(week.overdue);
    }
    sink.counts.results += 1;
    const explain = this.setup.explain;
    let text: string;
    let cut: number;
    if (this.setup.output === 'ndjson') {
      // The line's reason is one of its rule sets' reasons: written as JSON once (a reason's text costs the most to write).
      let results = '';
      let reasonJson = 'null';
      for (let i = 0; i < decisions.length; i += 1) {
        const d = decisions[i] as TriageDecision;
        const own = JSON.stringify(d.reason);
        if (reason !== null && d.reason === reason) reasonJson = own;
        results += `${i > 0 ? ',' : ''}${this.ruleSetKeys[i]}:{"version":"${d.version}","outcome":${JSON.stringify(d.outcome)},"holdsUntil":${JSON.stringify(d.holdsUntil)},"reason":${own},"fired":${JSON.stringify(d.fired)}${explain ? `,"explanation":${JSON.stringify(d.explanation)}` : ''}}`;
      }
      if (reason !== null && reasonJson === 'null') reasonJson = JSON.stringify(reason);
      text = `{"id":${JSON.stringify(id)},"line":${line},"tier":${this.tierJson[tier - 1]},"dueBy":${dueBy === null ? 'null' : `"${dueBy}"`},"overdue":${overdue},"nextAction":${JSON.stringify(nextAction)},"reason":${reasonJson},"approver":${JSON.stringify(approver)},"holdsUntil":${JSON.stringify(recordHolds)},"program":${JSON.stringify(program)},"asOf":"${decidedAsOf}","results":{${results}},"inputDigest":"${digest}"}\n`;
      cut = 1;
    } else {
      const head = stringify([[String(id), String(line)]]);
      const cells: string[] = [
        tierName,
        dueBy ?? '',
        overdue === null ? '' : overdue ? 'yes' : 'no',
        nextAction,
        reason ?? '',
        approver ?? '',
        recordHolds ?? '',
        program,
        decidedAsOf,
      ];
      let rules = '';
      for (const d of decisions) {
        cells.push(d.version);
        outcomeCells(d.ruleSet, d.outcome, cells);
        rules += `${rules ? '; ' : ''}${d.ruleSet}: ${d.fired.join(', ') || 'none'}`;
      }
      cells.push(rules);
      if (explain) for (const d of decisions) cells.push(JSON.stringify(d.explanation));
      cells.push(digest);
      const tail = stringify([cells]);
      // The rank, when sorting, goes between "line" and "tier".
      text = `${head.slice(0, -1)},${tail}`;
      cut = Buffer.byteLength(head);
    }
    const length = sink.out.write(text);
    if (this.setup.ranking) {
      sink.keys.push(sortKey(tier, dueBy === null ? NO_DUE_DAY : dayNumber(dueBy)));
      sink.lengths.push(length);
      sink.cuts.push(cut);
    }
  }
}
