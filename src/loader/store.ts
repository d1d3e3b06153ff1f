// The rules in force, and safe reloads: validate every file first, swap all rule sets at once, or keep the last good ones.
import { watch, type FSWatcher } from 'node:fs';
import { DecisionError, type Issue } from '../errors';
import type { RuleSetModule } from '../engine/compile';
import { loadRules, type RuleRegistry } from './load';

export interface ReloadReport {
  ok: boolean;
  /** Rule set → version, after the reload (the old versions when it was refused). */
  versions: Record<string, string>;
  changed: string[];
  issues: Issue[];
}

export interface StoreLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/** Rule file → version: a rule set with several versions has several files. */
const versionsOf = (registry: RuleRegistry): Record<string, string> =>
  Object.fromEntries([...registry.ruleSets.values()].flatMap((rs) => rs.versions.map((v) => [v.sourceFile, v.version])));

export class RuleStore {
  private registry: RuleRegistry;
  private watcher: FSWatcher | undefined;

  constructor(
    readonly directory: string,
    private readonly modules: Readonly<Record<string, RuleSetModule>>,
    private readonly logger?: StoreLogger,
  ) {
    this.registry = loadRules(directory, { modules });
  }

  /** The registry in force. A request reads it once and keeps it, so a swap never changes rules mid-request. */
  current(): RuleRegistry {
    return this.registry;
  }

  reload(): ReloadReport {
    const before = versionsOf(this.registry);
    try {
      const next = loadRules(this.directory, { modules: this.modules });
      const versions = versionsOf(next);
      const changed = Object.keys({ ...before, ...versions }).filter((name) => before[name] !== versions[name]).sort();
      this.registry = next;
      this.logger?.info({ versions, changed }, changed.length > 0 ? `rules reloaded: ${changed.join(', ')} changed` : 'rules reloaded: nothing changed');
      return { ok: true, versions, changed, issues: [] };
    } catch (error) {
      if (!(error instanceof DecisionError)) throw error;
      const where = error.issues.map((i) => `${i.file ?? ''}:${i.line ?? 0}:${i.column ?? 0} ${i.message}`).join('\n');
      this.logger?.warn({ issues: error.issues, keeping: before }, `rules refused; still serving the last good rules\n${where}`);
      return { ok: false, versions: before, changed: [], issues: error.issues };
    }
  }

  /** Reloads when a file under the rules folder changes (debounced: editors write in several steps). */
  watch(debounceMs = 250): void {
    let timer: NodeJS.Timeout | undefined;
    this.watcher = watch(this.directory, { recursive: true }, () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.reload(), debounceMs);
    });
  }

  close(): void {
    this.watcher?.close();
  }
}
