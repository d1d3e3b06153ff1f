// Fault: what editors and people leave in the rules folder (lock files, dangling links, backups, a folder named *.json).
//
// Before: a dangling Emacs lock file `.#segment-allocation.json` made the watcher's reload throw ENOENT in a timer,
// every worker died, their replacements died the same way, and the primary gave up. Now the loader does not read
// such names (loader/load.ts isRuleFileName), and a rule file that cannot be read is a refused reload.
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FaultCluster, type FaultReport } from './cluster';
import { answeredIds, loadLoop, pause, statuses } from './load-loop';

/** The watcher's debounce is 250 ms; this leaves every worker time to have reloaded. */
const SETTLE_MS = 1_500;

export async function run(options: { quick?: boolean } = {}): Promise<FaultReport> {
  const problems: string[] = [];
  const details: string[] = [];
  const cluster = await FaultCluster.start();
  try {
    const pidsBefore = cluster.workerPids();
    const versionsBefore = JSON.parse((await cluster.send('GET', '/ready')).body).versions as Record<string, string>;
    const loop = loadLoop(cluster);

    // 1. What an editor, a copy or a backup leaves: none of it is a rule file.
    const dir = cluster.rulesDir;
    const leftovers = [
      '.#segment-allocation.json (a dangling link: an Emacs lock)',
      '#segment-allocation.json# (Emacs auto-save)',
      'segment-allocation.json~ (a backup)',
      '.segment-allocation.json.swp (vim)',
      'drafts.json/ (a folder)',
    ];
    symlinkSync('someone@desk.1:1', path.join(dir, '.#segment-allocation.json'));
    writeFileSync(path.join(dir, '#segment-allocation.json#'), '{ "half written');
    copyFileSync(path.join(dir, 'segment-allocation.json'), path.join(dir, 'segment-allocation.json~'));
    writeFileSync(path.join(dir, '.segment-allocation.json.swp'), Buffer.from([0x62, 0x30, 0, 0, 0xff]));
    mkdirSync(path.join(dir, 'drafts.json'));
    writeFileSync(path.join(dir, 'drafts.json', 'segment-allocation.json'), '{ not a rule file }');
    await pause(SETTLE_MS);
    const health = await Promise.all(Array.from({ length: 6 }, () => cluster.send('GET', '/health')));
    const reloadIgnoring = await cluster.send('POST', '/v1/admin/reload', { role: 'policy' });
    const ignored = reloadIgnoring.status === 200 && (JSON.parse(reloadIgnoring.body) as { changed: string[] }).changed.length === 0;
    details.push(
      `left in rules/: ${leftovers.join(', ')}; /health ${statuses(health.map((h) => ({ sentAt: 0, doneAt: 0, status: h.status })))}; POST /v1/admin/reload ${reloadIgnoring.status}, ${ignored ? 'nothing changed (none of them read)' : reloadIgnoring.body.slice(0, 300)}`,
    );
    if (!health.every((h) => h.status === 200)) problems.push('/health did not answer 200 with editor files in the folder');
    if (!ignored)
      problems.push(
        `the reload with editor files in the folder was not a reload with nothing changed: ${reloadIgnoring.status} ${reloadIgnoring.body.slice(0, 300)}`,
      );

    // 2. A rule file's name that cannot be read: the reload is refused, naming it, and the last good rules stay.
    const unreadable = 'segment-allocation.draft.json';
    symlinkSync('/nonexistent/segment-allocation.json', path.join(dir, unreadable));
    await pause(SETTLE_MS);
    const refused = await cluster.send('POST', '/v1/admin/reload', { role: 'policy' });
    const problem = JSON.parse(refused.body) as { code?: string; errors?: { pointer?: string; detail?: string; line?: number; column?: number }[] };
    const named = problem.errors?.find((e) => e.pointer?.startsWith(unreadable));
    details.push(`a dangling link named ${unreadable}: POST /v1/admin/reload ${refused.status} ${problem.code}: "${named?.pointer}: ${named?.detail}"`);
    if (refused.status !== 422 || problem.code !== 'rules-refused' || !named)
      problems.push(`the reload with an unreadable rule file was not refused naming it: ${refused.status} ${refused.body.slice(0, 300)}`);
    const versionsDuring = JSON.parse((await cluster.send('GET', '/ready')).body).versions as Record<string, string>;
    if (JSON.stringify(versionsDuring) !== JSON.stringify(versionsBefore)) problems.push('the rules in force changed while a rule file could not be read');
    const metrics = (await cluster.send('GET', '/metrics')).body;
    const refusedCount = Number(/rule_reloads_total\{result="refused"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    details.push(`rule_reloads_total{result="refused"} ${refusedCount} (the watch's refusals in each worker and the one asked for)`);
    if (refusedCount < 1) problems.push('the refused reloads were not counted in /metrics');

    // 3. Fixed: the next reload takes the folder again.
    rmSync(path.join(dir, unreadable));
    await pause(SETTLE_MS);
    const fixed = await cluster.send('POST', '/v1/admin/reload', { role: 'policy' });
    if (fixed.status !== 200) problems.push(`the reload after the link was removed answered ${fixed.status}`);
    if (options.quick !== true) await pause(5_000);

    const sent = await loop.stop();
    const pidsAfter = cluster.workerPids();
    const deaths = cluster.logLines().filter((l) => l.msg?.startsWith('worker died') || l.msg?.startsWith('worker failed')).length;
    if (deaths > 0 || pidsAfter.join() !== pidsBefore.join())
      problems.push(`workers died: ${deaths} deaths logged; pids ${pidsBefore.join(', ')} before, ${pidsAfter.join(', ')} after`);
    const notOk = sent.filter((s) => s.status !== 200);
    if (notOk.length > 0) problems.push(`evaluate answered other than 200 while the folder held these files: ${statuses(notOk)}`);

    const ids = answeredIds(sent);
    const missing = await cluster.missingAfterRestart(ids);
    if (missing.length > 0) problems.push(`${missing.length} decisions answered 200 are not in the log after the restart`);
    return {
      fault: 'editor files and an unreadable rule file in rules/',
      answered: `evaluate ${statuses(sent)}; /health 200 throughout; workers ${pidsBefore.length} alive, ${deaths} died`,
      refused: `the reload naming the unreadable ${unreadable} (422, last good rules kept); the editor files ignored`,
      logHolds: `${ids.length - missing.length} of ${ids.length} decisions answered 200, after a restart`,
      problems,
      details,
    };
  } finally {
    await cluster.remove();
  }
}
