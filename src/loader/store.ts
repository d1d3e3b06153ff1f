// The rules in force, and safe reloads: validate every file first, swap all rule sets at once, or keep the last good ones.
import { watch, type FSWatcher } from 'node:fs';
import { DecisionError, issueLines, type Issue } from '../errors';
import type { RuleSetModule } from '../engine/compile';
import { loadRules, versionsByFile, type RuleRegistry } from './load';

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


export class RuleStore {
  private registry: RuleRegistry;
  private watcher: FSWatcher | undefined;
  /** Told of every reload, asked for or from the file watch (the server counts them in its metrics). */
  onReload: ((report: ReloadReport) => void) | undefined;

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
    const before = versionsByFile(this.registry);
    try {
      const next = loadRules(this.directory, { modules: this.modules });
      const versions = versionsByFile(next);
      const changed = Object.keys({ ...before, ...versions }).filter((name) => before[name] !== versions[name]).sort();
      this.registry = next;
      this.logger?.info({ versions, changed }, changed.length > 0 ? `rules reloaded: ${changed.join(', ')} changed` : 'rules reloaded: nothing changed');
      return this.reported({ ok: true, versions, changed, issues: [] });
    } catch (error) {
      if (!(error instanceof DecisionError)) throw error;
      const where = issueLines(error.issues);
      this.logger?.warn({ issues: error.issues, keeping: before }, `rules refused; still serving the last good rules\n${where}`);
      return this.reported({ ok: false, versions: before, changed: [], issues: error.issues });
    }
  }

  private reported(report: ReloadReport): ReloadReport {
    this.onReload?.(report);
    return report;
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
