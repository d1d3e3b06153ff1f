// The loaded rule versions as a plain record, so the main thread can check every worker loaded the same rules.
import type { RuleRegistry } from '../loader/load';

export function versionsOf(registry: RuleRegistry): Record<string, string[]> {
  const versions: Record<string, string[]> = {};
  for (const [name, set] of registry.ruleSets) versions[name] = set.versions.map((v) => v.version);
  return versions;
}

export function sameVersions(a: Record<string, string[]>, b: Record<string, string[]>): boolean {
  return JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
}
