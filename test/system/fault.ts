// npm run fault -- [--only kill,rules-folder,…] [--quick] [--rounds 3] [--kill-after 5] [--connections 64] [--rule-set segment-allocation] [--decision-log-url postgres://…]
//
// Each fault the service must survive, reproduced against the real built service (a node:cluster of workers), with
// what it answered, what it refused and what the decision log holds afterwards printed for each, and a table of all
// of them at the end; exits 1 if any did not hold. The faults beyond the kill test are the scenarios in
// test/system/faults/ (the tests in test/faults/ run the same ones, quick); --only picks some, --quick runs them small.
//
// The kill test: a decision the service answered must be in the decision log, even if the service
// dies the moment after. The built server is put under load, then SIGKILLed mid-load (primary and
// every cluster worker at once, as the kernel's OOM killer or a container runtime would: no
// handler runs, nothing is flushed), restarted on the same DATA_DIR, and every decision id a
// client was answered 200 before the kill is looked for in the log. Repeated --rounds times on the
// one log, each check covering every earlier round too: a recovery must not lose what an earlier
// one kept.
//
// Requests in flight at the kill may or may not be in the log: recorded-but-unanswered is allowed
// (the caller saw no decision and will ask again). Answered-but-unrecorded is the failure.
//
// What it proves is durability against the process dying, not the machine: the operating system
// keeps what a killed process had written. A power cut is another test (SQLite's synchronous
// setting, PostgreSQL's fsync), which this one cannot make.
import { Agent, request } from 'node:http';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { n, now, say, secs } from '../support/report';
import type { FaultReport } from './faults/cluster';
import { run as batchBomb } from './faults/batch-bomb';
import { run as deletedLog } from './faults/deleted-log';
import { run as fullDisk } from './faults/full-disk';
import { run as heavyBodies } from './faults/heavy-bodies';
import { run as rulesFolder } from './faults/rules-folder';
import { run as slowClients } from './faults/slow-clients';
import { run as workerRestart } from './faults/worker-restart';
import {
  bearer,
  decisionIdOf,
  freePort,
  logReader,
  machineLine,
  sample,
  ServerProcess,
  spotCheck,
  RUN_OPTIONS,
  runSetup,
  UNREACHED_RATE_LIMIT,
  whole,
  workersSetting,
  type BenchKey,
  type LogReader,
} from './production-load';

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
  /** The connection failed after the status line: the status (and a 200's decision id) was seen, the body not all. */
  cut?: string;
}

/** One POST on a keep-alive agent; rejects only if no status line came back. */
function post(agent: Agent, port: number, path: string, headers: Record<string, string>, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        const answer = (cut?: string): Answer => ({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), cut });
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(answer()));
        // The status line came, the rest did not: still an answer the caller saw (resolve is a no-op after 'end').
        res.on('error', (error) => resolve(answer(error.message)));
        res.on('close', () => {
          if (!res.complete) resolve(answer('the connection closed mid-answer'));
        });
      },
    );
    req.on('error', reject);
    // Nothing here should take long; a request the dead server never answers fails with the connection instead.
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.end(body);
  });
}

interface RoundLoad {
  /** Every decision id answered 200, in the order the answers were read. */
  answered: string[];
  /** Of those, answers read after the kill signal was sent: written by the server before it, read by us after. */
  readAfterKill: number;
  /** Requests written whose answer had not been read when the kill was sent. */
  inFlightAtKill: number;
  sent: number;
  loadSeconds: number;
  /** Before the kill: answers that were not 200, and requests that failed. Both are the server misbehaving. */
  statusesBeforeKill: Record<string, number>;
  errorsBeforeKill: number;
  problemsBeforeKill: string[];
  /** 200s whose decision id was missing or disagreed with the body's, and answers cut off after their status line. */
  idProblems: string[];
  cut: number;
  killedAt: number;
}

/**
 * `connections` loops, each with a request always out on its own keep-alive connection, for
 * `killAfterMs`; then SIGKILL to the server's whole process group. Plain node:http rather than
 * autocannon: each loop knows, at the instant of the kill, whether it has a request out, and every
 * status line read is seen here, so the ids answered and the requests in flight are both exact.
 */
async function loadThenKill(
  server: ServerProcess,
  options: { ruleSet: string; bodies: readonly string[]; key: BenchKey; connections: number; killAfterMs: number },
): Promise<RoundLoad> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const path = `/v1/rulesets/${options.ruleSet}/evaluate`;
  const headers = { 'content-type': 'application/json', authorization: bearer(options.key) };
  const round: RoundLoad = {
    answered: [],
    readAfterKill: 0,
    inFlightAtKill: 0,
    sent: 0,
    loadSeconds: 0,
    statusesBeforeKill: {},
    errorsBeforeKill: 0,
    problemsBeforeKill: [],
    idProblems: [],
    cut: 0,
    killedAt: 0,
  };
  let inFlight = 0;
  let killed = false;
  let next = 0;

  const loop = async (): Promise<void> => {
    while (!killed) {
      const body = options.bodies[next++ % options.bodies.length] as string;
      inFlight += 1;
      round.sent += 1;
      try {
        const answer = await post(agent, server.port, path, headers, body);
        if (answer.cut) round.cut += 1;
        if (answer.status === 200) {
          // The status line and X-Decision-Id are the answer; a body cut off by the kill is checked against the header only.
          const { id, problem } = answer.cut ? decisionIdFromHeader(answer.headers) : decisionIdOf(answer.headers, answer.body);
          if (id) {
            round.answered.push(id);
            if (killed) round.readAfterKill += 1;
          } else if (round.idProblems.length < 5) round.idProblems.push(problem as string);
        } else if (!killed) {
          round.statusesBeforeKill[answer.status] = (round.statusesBeforeKill[answer.status] ?? 0) + 1;
          if (round.problemsBeforeKill.length < 5) round.problemsBeforeKill.push(`${answer.status} ${answer.body.slice(0, 300)}`);
        }
      } catch (error) {
        if (!killed) {
          round.errorsBeforeKill += 1;
          if (round.problemsBeforeKill.length < 5) round.problemsBeforeKill.push((error as Error).message);
        }
      } finally {
        inFlight -= 1;
      }
    }
  };

  const started = now();
  const loops = Array.from({ length: options.connections }, loop);
  await new Promise((resolve) => setTimeout(resolve, options.killAfterMs));
  // Taken and sent in one synchronous step: no answer can be read between the count and the signal.
  round.inFlightAtKill = inFlight;
  killed = true;
  round.killedAt = now();
  round.loadSeconds = (round.killedAt - started) / 1000;
  const dead = server.kill();
  await Promise.all(loops);
  await dead;
  agent.destroy();
  return round;
}

function decisionIdFromHeader(headers: Record<string, unknown>): { id?: string; problem?: string } {
  const id = headers['x-decision-id'];
  return typeof id === 'string' && id.length > 0 ? { id } : { problem: 'a 200 without X-Decision-Id' };
}

interface RoundFigures {
  answered: number;
  found: number;
  missing: number;
  inFlight: number;
  recordedUnanswered: number;
  readyMs: number;
  killToReadyMs: number;
}

const OPTIONS = {
  ...RUN_OPTIONS,
  rounds: { type: 'string', default: '3' },
  'kill-after': { type: 'string', default: '5' },
  only: { type: 'string' },
  quick: { type: 'boolean', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

/** The kill test: rounds of load, SIGKILL to the whole service, restart, every answered decision looked for. */
async function killRounds(values: Values): Promise<FaultReport> {
  const rounds = whole('--rounds', values.rounds, 1);
  const killAfter = Number(values['kill-after']);
  if (!Number.isFinite(killAfter) || killAfter <= 0) throw new Error(`--kill-after must be a number of seconds above 0 (got ${values['kill-after']})`);
  const { connections, spot, ruleSet, decisionLogUrl, dataDir, keys, env, bodies } = runSetup(values, 'ps-fault-');
  const logFile = path.join(dataDir, 'server.log');

  say(`# ps-decision-service kill test`);
  say(`machine: ${machineLine()}`);
  say(
    `settings: ${workersSetting()}; RATE_LIMIT_PER_MINUTE=${UNREACHED_RATE_LIMIT} (counted, not reached); decision log ${decisionLogUrl ? `DECISION_LOG_URL (${new URL(decisionLogUrl).host}${new URL(decisionLogUrl).pathname})` : 'SQLite'} with DATA_DIR=${dataDir}`,
  );
  say(
    `each round: ${connections} concurrent clients POST /v1/rulesets/${ruleSet}/evaluate (${n(bodies.length)} generated cases cycled) for ${killAfter} s, SIGKILL to the server's process group, restart on the same DATA_DIR; ${rounds} rounds`,
  );

  const failures: string[] = [];
  const figures: RoundFigures[] = [];
  const everyAnswer: string[] = [];
  const port = await freePort();
  let server = new ServerProcess(port, env, logFile);
  let reader: LogReader | undefined;
  try {
    const firstReady = await server.ready();
    say(`server pid ${server.pid} on ${server.base}, ready in ${secs(firstReady)}; its output: ${logFile}`);
    reader = await logReader({ dataDir, decisionLogUrl });
    for (let r = 1; r <= rounds; r += 1) {
      say('');
      say(`## round ${r} of ${rounds}`);
      const before = await reader.count();
      const killedPid = server.pid;
      const round = await loadThenKill(server, { ruleSet, bodies, key: keys.caseworker, connections, killAfterMs: killAfter * 1000 });
      for (const id of round.answered) everyAnswer.push(id);
      say(`load for ${round.loadSeconds.toFixed(1)} s: ${n(round.sent)} requests sent; SIGKILL to process group ${killedPid} (primary and workers), all gone`);
      const beforeKill = Object.values(round.statusesBeforeKill).reduce((a, b) => a + b, 0);
      if (beforeKill + round.errorsBeforeKill > 0) {
        say(`  before the kill: non-200 ${JSON.stringify(round.statusesBeforeKill)}, errors ${round.errorsBeforeKill}`);
        for (const p of round.problemsBeforeKill) say(`    ${p}`);
        failures.push(`round ${r}: before the kill, ${beforeKill} answers were not 200 and ${round.errorsBeforeKill} requests failed`);
      }
      if (round.idProblems.length > 0) failures.push(`round ${r}: 200 answers without a usable decision id: ${round.idProblems.join('; ')}`);

      // The same port, the same DATA_DIR: the restart an orchestrator would make.
      server = new ServerProcess(port, env, logFile);
      const readyMs = await server.ready();
      const killToReadyMs = now() - round.killedAt;

      const after = await reader.count();
      const recorded = after - before;
      const missing = await reader.missing(round.answered);
      const missingEver = await reader.missing(everyAnswer);
      const unique = new Set(round.answered).size;
      const recordedUnanswered = recorded - round.answered.length;
      figures.push({
        answered: round.answered.length,
        found: round.answered.length - missing.length,
        missing: missing.length,
        inFlight: round.inFlightAtKill,
        recordedUnanswered,
        readyMs,
        killToReadyMs,
      });

      say(
        `answered before kill       ${n(round.answered.length)}${round.readAfterKill > 0 ? ` (${round.readAfterKill} of them read just after the signal: sent by the server before it)` : ''}${round.cut > 0 ? `; ${round.cut} answers cut off after the status line` : ''}`,
      );
      say(`in flight at the kill      ${round.inFlightAtKill} (sent, no answer read)`);
      say(`time to ready after restart ${secs(readyMs)} from spawn (${secs(killToReadyMs)} from the kill)`);
      say(
        `found after restart        ${n(round.answered.length - missing.length)} of ${n(round.answered.length)} (every round so far: ${n(everyAnswer.length - missingEver.length)} of ${n(everyAnswer.length)})`,
      );
      say(`missing                    ${n(missing.length)}${missingEver.length !== missing.length ? ` (every round so far: ${n(missingEver.length)})` : ''}`);
      say(
        `recorded but unanswered    ${recordedUnanswered} (the log gained ${n(recorded)} this round; allowed up to the ${round.inFlightAtKill} in flight${round.errorsBeforeKill > 0 ? ` and ${round.errorsBeforeKill} failed before the kill` : ''})`,
      );
      if (missing.length > 0)
        failures.push(`round ${r}: ${missing.length} decisions answered 200 are not in the log after the restart, e.g. ${missing.slice(0, 5).join(', ')}`);
      if (missingEver.length > missing.length)
        failures.push(`round ${r}: ${missingEver.length - missing.length} decisions of earlier rounds are no longer in the log`);
      if (unique !== round.answered.length) failures.push(`round ${r}: ${round.answered.length - unique} decision ids were answered twice`);
      if (recordedUnanswered < 0) failures.push(`round ${r}: the log gained ${recorded} decisions for ${round.answered.length} answered`);
      if (recordedUnanswered > round.inFlightAtKill + round.errorsBeforeKill)
        failures.push(
          `round ${r}: the log gained ${recordedUnanswered} decisions more than were answered, but only ${round.inFlightAtKill} requests were in flight`,
        );

      if (spot > 0) {
        // The last answers before the kill are the ones a commit not yet durable would lose: all of them, with a spread of the rest.
        const checked = [...new Set([...sample(round.answered, spot), ...round.answered.slice(-20)])];
        const problems = await spotCheck(server.base, keys.auditor, checked, { ruleSet, keyId: keys.caseworker.id });
        say(
          `GET /v1/decisions/{id}     ${checked.length - problems.length} of ${checked.length} read back (auditor key; ${Math.min(spot, round.answered.length)} sampled and the last 20 answered before the kill)`,
        );
        for (const p of problems.slice(0, 5)) say(`  ${p}`);
        if (problems.length > 0) failures.push(`round ${r}: ${problems.length} of ${checked.length} sampled decisions did not read back over HTTP`);
      }
    }

    say('');
    say('## after the last round');
    await server.stopReported(failures);
  } catch (error) {
    failures.push((error as Error).message);
  } finally {
    await reader?.close();
    if (!server.exit) await server.stop();
  }

  say('');
  say('| round | answered before kill | found after restart | missing | in flight at kill | recorded, unanswered | ready after restart |');
  say('|---|---|---|---|---|---|---|');
  figures.forEach((f, i) =>
    say(
      `| ${i + 1} | ${n(f.answered)} | ${n(f.found)} | ${f.missing} | ${f.inFlight} | ${f.recordedUnanswered} | ${secs(f.readyMs)} (${secs(f.killToReadyMs)} from the kill) |`,
    ),
  );
  say('');
  if (failures.length > 0) {
    say(`server output (last lines), full log in ${logFile}:`);
    say(server.logTail(3000));
  } else rmSync(dataDir, { recursive: true, force: true });
  const found = figures.reduce((sum, f) => sum + f.found, 0);
  return {
    fault: `the whole service SIGKILLed mid-load, ${rounds} times`,
    answered: `${n(everyAnswer.length)} decisions answered 200 before the kills; ready ${figures.map((f) => secs(f.killToReadyMs)).join(', ')} after each kill`,
    refused: 'nothing (requests in flight at a kill get no answer)',
    logHolds: `${n(found)} of ${n(everyAnswer.length)} decisions answered 200, after each restart`,
    problems: failures,
    details: [],
  };
}

/** Every fault `npm run fault` reproduces, by the name --only takes. The kill rounds are 'kill'. */
const SCENARIOS: Record<string, (options: { quick?: boolean }) => Promise<FaultReport>> = {
  'rules-folder': rulesFolder,
  'deleted-log': deletedLog,
  'worker-restart': workerRestart,
  'full-disk': fullDisk,
  'batch-bomb': batchBomb,
  'slow-clients': slowClients,
  'heavy-bodies': heavyBodies,
};

async function main(): Promise<number> {
  const { values } = parseArgs({ options: OPTIONS });
  const names = ['kill', ...Object.keys(SCENARIOS)];
  const only =
    values.only
      ?.split(',')
      .map((name) => name.trim())
      .filter(Boolean) ?? names;
  const unknown = only.filter((name) => !names.includes(name));
  if (unknown.length > 0) throw new Error(`--only: no fault named ${unknown.join(', ')} (faults: ${names.join(', ')})`);

  const reports: FaultReport[] = [];
  if (only.includes('kill')) reports.push(await killRounds(values));
  for (const [name, run] of Object.entries(SCENARIOS)) {
    if (!only.includes(name)) continue;
    say('');
    say(`# fault: ${name}${values.quick ? ' (quick)' : ''}`);
    const started = now();
    let report: FaultReport;
    try {
      report = await run({ quick: values.quick });
    } catch (error) {
      report = {
        fault: name,
        answered: '—',
        refused: '—',
        logHolds: '—',
        problems: [`the scenario failed: ${(error as Error).stack ?? String(error)}`],
        details: [],
      };
    }
    for (const line of report.details) say(`- ${line}`);
    say(`${report.problems.length === 0 ? 'held' : 'DID NOT HOLD'} (${secs(now() - started)})`);
    for (const problem of report.problems) say(`  - ${problem}`);
    reports.push(report);
  }

  say('');
  say('## What each fault did to the service');
  say('');
  say('| fault | answered | refused | the decision log holds | held |');
  say('|---|---|---|---|---|');
  for (const r of reports) say(`| ${r.fault} | ${r.answered} | ${r.refused} | ${r.logHolds} | ${r.problems.length === 0 ? 'yes' : '**no**'} |`);
  const failed = reports.filter((r) => r.problems.length > 0);
  say('');
  if (failed.length > 0) {
    say('FAILED:');
    for (const r of failed) for (const problem of r.problems) say(`  - ${r.fault}: ${problem}`);
    return 1;
  }
  say(`OK: every fault held (${reports.length}).`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`fault test failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
