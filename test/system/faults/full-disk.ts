// Fault: the decision log's disk fills up under load, then is freed.
//
// Before: every write failed and each request was a 503, rightly, but /ready ran SELECT 1 and stayed 200 through
// 62,703 failed writes, so a load balancer kept sending traffic to a service that could record nothing. Now /ready
// is 503 while the last decision write failed (in the last 5 s) or a write probe fails, and 200 again once the disk
// has room. The disk is a real one: a small tmpfs mounted for the run (so this needs root, as the tests run here).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FaultCluster, type FaultReport } from './cluster';
import { answeredIds, loadLoop, pause, statuses, until, type Sent } from './load-loop';

const DISK_BYTES = 16 * 1024 * 1024;

/** Mounts a tmpfs of `bytes` on a new folder; throws with the reason when it cannot (mounting needs root). */
function smallDisk(bytes: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-fault-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `a small disk for the decision log could not be mounted (mount -t tmpfs needs root): ${String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim()}`,
      { cause: error },
    );
  }
  return dir;
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(options: { quick?: boolean } = {}): Promise<FaultReport> {
  const problems: string[] = [];
  const details: string[] = [];
  const disk = smallDisk(DISK_BYTES);
  const filler = path.join(disk, 'filler');
  let cluster: FaultCluster | undefined;
  try {
    cluster = await FaultCluster.start({ dataDir: path.join(disk, 'data') });
    const c = cluster;
    const readyStatuses = async () => (await Promise.all(Array.from({ length: 4 }, () => c.send('GET', '/ready')))).map((r) => r.status);
    const loop = loadLoop(c, { connections: 4 });
    await pause(500);
    // Fill the disk, leaving a few decisions' room: the log runs out under load.
    // The load keeps writing meanwhile: if the log took that room between the measure and the write, the filler stops
    // short at ENOSPC and the disk is full all the same, which is the state this scenario sets up.
    const free = () => Number(statfsSync(disk).bavail) * Number(statfsSync(disk).bsize);
    try {
      writeFileSync(filler, Buffer.alloc(Math.max(0, free() - 256 * 1024)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    }
    const filledAt = performance.now();
    const failing = await until(() => loop.sent.some((s) => s.status === 503), 15_000);
    await pause(options.quick ? 1_000 : 5_000);
    const whileFull = await readyStatuses();
    const fullUntil = performance.now();
    details.push(
      `disk filled (${(DISK_BYTES / 2 ** 20).toFixed(0)} MiB tmpfs, at most 256 KiB left): writes ${failing ? 'began to fail' : 'did not fail'}; /ready under load while full: ${whileFull.join(', ')}`,
    );
    if (!failing) problems.push("the decision log's writes never failed on the full disk (the scenario did not fill it)");
    if (!whileFull.every((s) => s === 503)) problems.push(`/ready answered ${whileFull.join(', ')} while every write failed on a full disk`);

    // Room again: /ready and evaluate recover without a restart.
    rmSync(filler);
    const freedAt = performance.now();
    const recovered = await until(async () => (await readyStatuses()).every((s) => s === 200), 15_000);
    const recoveredMs = performance.now() - freedAt;
    await pause(options.quick ? 500 : 3_000);
    const sent = await loop.stop();
    const during = sent.filter((s: Sent) => s.sentAt >= filledAt && s.sentAt <= fullUntil);
    const afterFree = sent.filter((s: Sent) => s.sentAt > freedAt + recoveredMs);
    details.push(
      `evaluate while full: ${statuses(during)}; /ready 200 again ${(recoveredMs / 1000).toFixed(1)} s after the disk was freed; evaluate after that: ${statuses(afterFree)}`,
    );
    if (!recovered) problems.push('/ready did not answer 200 again within 15 s of the disk being freed');
    if (during.some((s) => s.status !== 200 && !(s.status === 503 && s.code === 'log-unavailable')))
      problems.push(`evaluate on the full disk answered other than 200 or 503 log-unavailable: ${statuses(during)}`);
    if (afterFree.length === 0 || afterFree.some((s) => s.status !== 200)) problems.push(`evaluate after the disk was freed: ${statuses(afterFree)}`);

    const ids = answeredIds(sent);
    const missing = await c.missingAfterRestart(ids);
    if (missing.length > 0) problems.push(`${missing.length} decisions answered 200 are not in the log after the restart`);
    return {
      fault: "the decision log's disk full under load, then freed",
      answered: `evaluate ${statuses(sent)}; /ready 503 while full, 200 ${(recoveredMs / 1000).toFixed(1)} s after space was freed`,
      refused: `${sent.filter((s) => s.status === 503).length} decisions that could not be recorded (503 log-unavailable)`,
      logHolds: `${ids.length - missing.length} of ${ids.length} decisions answered 200, after a restart`,
      problems,
      details,
    };
  } finally {
    await cluster?.remove();
    unmount(disk);
  }
}
