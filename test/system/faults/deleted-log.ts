// Fault: the SQLite decision log's files deleted under the running service (`rm $DATA_DIR/decisions.sqlite*`).
//
// Before: the workers went on writing to the unlinked files and answering 200, /ready and the auditor's GET stayed
// 200, and a restarted worker opened a new file: 74,212 decisions answered, none in any log afterwards. Now every
// commit checks that the files at the path are the ones open (decisions/sqlite.ts verify()): from the deletion on,
// evaluate is a 503 log-unavailable, /ready and the auditor's reads are 503, and a restarted worker will not begin
// a new log, until an operator restores the files or restarts the service.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Agent } from 'node:http';
import { FaultCluster, decisionIdOf, LIGHT, type FaultReport } from './cluster';
import { answeredIds, loadLoop, pause, statuses, until } from './load-loop';

export async function run(options: { quick?: boolean } = {}): Promise<FaultReport> {
  const problems: string[] = [];
  const details: string[] = [];
  const cluster = await FaultCluster.start();
  try {
    const loop = loadLoop(cluster);
    await pause(options.quick ? 1_500 : 5_000);
    const before = answeredIds(loop.sent);
    for (const suffix of ['', '-wal', '-shm']) rmSync(path.join(cluster.dataDir, `decisions.sqlite${suffix}`), { force: true });
    const removedAt = performance.now();
    await pause(options.quick ? 2_000 : 5_000);

    const readies = await Promise.all(Array.from({ length: 4 }, () => cluster.send('GET', '/ready')));
    const readyDetail = (JSON.parse(readies[0]!.body) as { detail?: string }).detail ?? '';
    const audit = await cluster.send('GET', `/v1/decisions/${before[0]}`, { role: 'auditor' });
    details.push(`after rm: /ready ${readies.map((r) => r.status).join(', ')}: "${readyDetail}"; the auditor's GET of a decision made before: ${audit.status}`);
    if (!readies.every((r) => r.status === 503) || !readyDetail.includes('deleted or replaced'))
      problems.push(`/ready was not 503 naming the lost file on every worker: ${readies.map((r) => `${r.status} ${r.body.slice(0, 200)}`).join('; ')}`);
    if (audit.status !== 503) problems.push(`the auditor's GET of a decision in the deleted file answered ${audit.status}`);

    // A worker killed now: its replacement must not open a new, empty log beside the lost one.
    const pids = cluster.workerPids();
    process.kill(pids[0] as number, 'SIGKILL');
    const failedStart = await until(() => cluster.logLines().some((l) => l.msg?.startsWith('worker failed to start')), 15_000);
    const health = await Promise.all(Array.from({ length: 4 }, () => cluster.send('GET', '/health')));
    details.push(
      `a worker killed: its replacement ${failedStart ? 'failed to start (no decision log file to open), and is retried with a growing wait' : 'did not fail to start'}; /health ${health.map((h) => h.status).join(', ')}; the primary ${cluster.server.exit ? 'exited' : 'kept running'}`,
    );
    if (!failedStart) problems.push('a worker restarted after the deletion started (it opened a new log file beside the lost one)');
    if (!health.every((h) => h.status === 200) || cluster.server.exit) problems.push('the remaining worker stopped answering /health, or the primary exited');

    const sent = await loop.stop();
    const afterRemoval = sent.filter((s) => s.sentAt > removedAt);
    const givenAfter = answeredIds(afterRemoval);
    const lostBefore = answeredIds(sent.filter((s) => s.sentAt <= removedAt));
    details.push(
      `evaluate sent before the rm: ${statuses(sent.filter((s) => s.sentAt <= removedAt))} (those decisions went with the deleted file: the operator's rm, not the service, removed them)`,
    );
    details.push(`evaluate sent after the rm: ${statuses(afterRemoval)}`);
    if (afterRemoval.length === 0) problems.push('no request was sent after the rm');
    if (afterRemoval.some((s) => s.status !== 503 && s.status !== 0)) problems.push(`evaluate after the rm answered other than 503: ${statuses(afterRemoval)}`);

    // The operator restarts the service: a new log begins, and what it answers 200 is in it after another restart.
    await cluster.restart();
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const fresh = await Promise.all(Array.from({ length: options.quick ? 40 : 400 }, () => cluster.evaluate(LIGHT.ruleSet, LIGHT.body, agent)));
    agent.destroy();
    const freshIds = fresh.flatMap((a) => decisionIdOf(a) ?? []);
    if (freshIds.length !== fresh.length)
      problems.push(`after the operator's restart, ${fresh.length - freshIds.length} of ${fresh.length} evaluations were not 200`);
    const missingGiven = await cluster.missingAfterRestart([...givenAfter, ...freshIds]);
    if (missingGiven.length > 0) problems.push(`${missingGiven.length} decisions answered 200 are not in the log at its path after a restart`);
    return {
      fault: 'the SQLite log files deleted under the service',
      answered: `evaluate after the rm: ${statuses(afterRemoval)}; /ready 503; /health 200; the primary stayed`,
      refused: "every decision from the rm on (503 log-unavailable), the auditor's reads (503), a new empty log in a restarted worker",
      logHolds: `${givenAfter.length} decisions answered 200 after the rm; after the operator's restart ${freshIds.length - missingGiven.length} of ${freshIds.length} in the new log (${lostBefore.length} answered before the rm went with the deleted file)`,
      problems,
      details,
    };
  } finally {
    await cluster.remove();
  }
}
