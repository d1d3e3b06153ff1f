// Fault: workers killed while the rules folder holds a rule file the running workers rightly refused.
//
// Before: the replacement worker loaded the folder, failed on that file and exited; the primary restarted it with no
// pause, and after 11 failures in a minute it stopped the healthy workers too and exited: one kill -9, a full outage.
// Now the primary hands a new worker the rules the cluster serves, restarts with a growing wait, keeps the healthy
// workers serving, reports "degraded" in /ready and cluster_workers in /metrics, and never exits while one serves.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FaultCluster, type FaultReport } from './cluster';
import { answeredIds, loadLoop, pause, statuses, until } from './load-loop';

interface Ready {
  status?: string;
  workers?: { wanted: number; serving: number };
  versions?: Record<string, string>;
}

export async function run(options: { quick?: boolean } = {}): Promise<FaultReport> {
  const kills = options.quick ? 4 : 12;
  const problems: string[] = [];
  const details: string[] = [];
  const cluster = await FaultCluster.start();
  try {
    // A short wait: a connection the primary hands to a worker in the instant it is killed is never answered or
    // closed (node:cluster's round-robin hand-off waits for a reply the dead worker never sends), and one such
    // request must not stop the sampling below for the client's whole timeout.
    const ready = async (): Promise<Ready> => {
      const answer = await cluster.send('GET', '/ready', { timeoutMs: 2_000 });
      return answer.status === 200 ? (JSON.parse(answer.body) as Ready) : { status: `${answer.status}` };
    };
    const inForce = (await ready()).versions;
    const loop = loadLoop(cluster);

    // A rule file the workers refuse (half saved: not JSON), left in the folder.
    const file = path.join(cluster.rulesDir, 'segment-allocation.json');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.slice(0, good.length / 2));
    await pause(1_000);
    const refused = await cluster.send('POST', '/v1/admin/reload', { role: 'policy' });
    details.push(`segment-allocation.json half written: POST /v1/admin/reload ${refused.status} (the workers refuse it and keep the last good rules)`);
    if (refused.status !== 422) problems.push(`the half-written rule file was not refused: ${refused.status}`);

    // Kill a worker: its replacement must start, on the rules the cluster serves, not the folder's broken file.
    // Then again and again, each replacement as soon as it listens: a crash loop.
    // Sampled apart, each every 100 ms: a slow scrape (the cluster's metrics wait on a worker still starting) must not
    // keep /ready from being watched.
    const sightings = { degraded: 0, servingOne: 0 };
    const readySeen = new Map<string, number>();
    let readyFailed = 0;
    let watching = true;
    const sample = async (look: () => Promise<void>, failed: () => void = () => undefined) => {
      while (watching) {
        await look().catch(failed);
        await pause(100);
      }
    };
    const watcher = Promise.all([
      sample(
        async () => {
          const r = await ready();
          const seen = `${r.status} ${JSON.stringify(r.workers)}`;
          readySeen.set(seen, (readySeen.get(seen) ?? 0) + 1);
          if (r.status === 'degraded' && r.workers?.serving === 1) sightings.degraded += 1;
        },
        () => {
          readyFailed += 1;
        },
      ),
      sample(async () => {
        const metrics = await cluster.send('GET', '/metrics', { timeoutMs: 6_000 });
        if (/cluster_workers\{state="serving"\} 1\b/.test(metrics.body)) sightings.servingOne += 1;
      }),
    ]);
    const killed: number[] = [];
    let replacementsStarted = 0;
    for (let k = 0; k < kills; k += 1) {
      const before = cluster.workerPids();
      const victim = before[before.length - 1] as number;
      process.kill(victim, 'SIGKILL');
      killed.push(victim);
      // The replacement: a pid not seen before, listening. The wait grows with each quick death (up to 30 s).
      const started = await until(() => cluster.workerPids().some((pid) => !before.includes(pid)), 60_000);
      if (!started) {
        problems.push(`after kill ${k + 1}, no replacement worker started within 60 s`);
        break;
      }
      replacementsStarted += 1;
      if (cluster.server.exit) {
        problems.push(`the primary exited after kill ${k + 1}: ${JSON.stringify(cluster.server.exit)}`);
        break;
      }
    }
    watching = false;
    await watcher;

    const back = await until(async () => (await ready()).workers?.serving === 2, 60_000);
    const after = await ready();
    const versions = await Promise.all(Array.from({ length: 6 }, async () => (await ready()).versions));
    const sameRules = versions.every((v) => JSON.stringify(v) === JSON.stringify(inForce));
    const waits = cluster
      .logLines()
      .filter((l) => l.msg?.startsWith('worker died') || l.msg?.startsWith('worker failed'))
      .map((l) => l.waitMs as number);
    details.push(
      `${killed.length} workers killed (SIGKILL), ${replacementsStarted} replacements listening; waits before each restart: ${waits.map((w) => `${w} ms`).join(', ')}`,
    );
    details.push(
      `/ready seen "degraded" with 1 of 2 serving ${sightings.degraded} times, cluster_workers{state="serving"} 1 seen ${sightings.servingOne} times; after: ${JSON.stringify(after.workers)} ${after.status}`,
    );
    details.push(
      `/ready answers while workers were killed: ${[...readySeen.entries()].map(([seen, count]) => `${seen} ×${count}`).join(', ')}; no answer ×${readyFailed} (a connection handed to a worker as it was killed)`,
    );
    if (!back) problems.push(`the cluster did not get back to 2 workers serving: ${JSON.stringify(after)}`);
    if (!sameRules)
      problems.push(`a replacement worker serves other rules than the cluster's: ${JSON.stringify(versions)} (in force: ${JSON.stringify(inForce)})`);
    if (sightings.degraded === 0) problems.push('/ready never said "degraded" while a worker was being replaced');
    if (sightings.servingOne === 0) problems.push('/metrics never showed cluster_workers{state="serving"} 1 while a worker was being replaced');
    if (waits.length < 2 || !waits.slice(1).every((w, i) => w >= (waits[i] as number)))
      problems.push(`the waits before restarts did not grow: ${waits.join(', ')}`);
    if (cluster.server.exit) problems.push(`the primary exited: ${JSON.stringify(cluster.server.exit)}`);

    const sent = await loop.stop();
    // A request out on a connection to a worker at the moment it is killed fails with the connection; nothing else may.
    const answeredBadly = sent.filter((s) => s.status !== 200 && s.status !== 0);
    const cut = sent.filter((s) => s.status === 0);
    if (answeredBadly.length > 0) problems.push(`evaluate answered other than 200: ${statuses(answeredBadly)}`);
    if (cut.length > killed.length * 2)
      problems.push(
        `${cut.length} requests failed with their connection, more than the ${killed.length * 2} that can have been in flight on the killed workers`,
      );

    // Put the file back as it was; the folder reloads cleanly.
    writeFileSync(file, good);
    await pause(1_000);
    const fixed = await cluster.send('POST', '/v1/admin/reload', { role: 'policy' });
    if (fixed.status !== 200) problems.push(`the reload after the file was restored answered ${fixed.status}`);

    const ids = answeredIds(sent);
    const missing = await cluster.missingAfterRestart(ids);
    if (missing.length > 0) problems.push(`${missing.length} decisions answered 200 are not in the log after the restart`);
    return {
      fault: `${killed.length} workers killed while rules/ holds a refused file`,
      answered: `evaluate ${statuses(sent)} (connection failures only on the killed workers); /ready "degraded" while one served; the primary never exited`,
      refused: 'the half-written rule file (422); replacements started on the rules in force',
      logHolds: `${ids.length - missing.length} of ${ids.length} decisions answered 200, after a restart`,
      problems,
      details,
    };
  } finally {
    await cluster.remove();
  }
}
