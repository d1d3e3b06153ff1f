// The built service (dist/), as `npm start` runs it: tests that start the real server build it first when src/ is newer.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../support';

export const SERVER = path.join(ROOT, 'dist', 'src', 'server.js');

/** Newest modification time under a folder, in ms. */
function newest(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const full = path.join(dir, entry.name);
    return Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }, 0);
}

/**
 * Builds dist/ unless it is newer than every source file: the test runs what `npm start` runs. The build is
 * incremental (tsc -b), rewriting only what changed, so dist/ as a whole, not one file in it, is what is compared.
 */
export function ensureBuilt(): void {
  let built: number;
  try {
    statSync(SERVER);
    built = newest(path.join(ROOT, 'dist'));
  } catch {
    built = 0;
  }
  if (built < newest(path.join(ROOT, 'src'))) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore', timeout: 180_000 });
}
