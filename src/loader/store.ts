// The rules in force, and safe reloads: validate every file first, swap all rule sets at once, or keep the last good ones.
import { watch, type FSWatcher } from 'node:fs';
import { DecisionError, issueLines, type Issue } from '../errors';
import type { RuleSetModule } from '../engine/compile';
import { loadRules, versionsByFile, type LoadedRegistry, type RuleRegistry } from './load';
import { loadRulesInForce, type PublishedVersion } from './published';

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
  error(details: object, message: string): void;
}

export class RuleStore {
  private registry: RuleRegistry;
  private watcher: FSWatcher | undefined;
  /** Told of every reload, asked for or from the file watch (the server counts them in its metrics). */
  onReload: ((report: ReloadReport) => void) | undefined;
  /**
   * The versions published in PostgreSQL (the shared deployment, issue 19), overlaid on the folder's files at every
   * reload as the SQLite path's publishing would have written them; unset, the folder alone.
   */
  published: (() => readonly PublishedVersion[]) | undefined;

  constructor(
    readonly directory: string,
    private readonly modules: Readonly<Record<string, RuleSetModule>>,
    private readonly logger?: StoreLogger,
    /** The rules to begin with, already loaded (a cluster worker is handed those the others serve); else the folder's. */
    initial?: RuleRegistry,
  ) {
    this.registry = initial ?? loadRules(directory, { modules });
  }

  /** The registry in force. A request reads it once and keeps it, so a swap never changes rules mid-request. */
  current(): RuleRegistry {
    return this.registry;
  }

  /**
   * Validates the folder and swaps in its rules, or refuses and keeps the last good ones. Every failure is a
   * refusal, never a throw: a reload runs from the file watch's timer, where a throw would end the process
   * (and every worker of a cluster would end the same way on the same file).
   */
  reload(): ReloadReport {
    const before = versionsByFile(this.registry);
    try {
      const next = this.load();
      const versions = versionsByFile(next);
      const changed = Object.keys({ ...before, ...versions })
        .filter((name) => before[name] !== versions[name])
        .sort();
      this.registry = next;
      this.logger?.info({ versions, changed }, changed.length > 0 ? `rules reloaded: ${changed.join(', ')} changed` : 'rules reloaded: nothing changed');
      return this.reported({ ok: true, versions, changed, issues: [] });
    } catch (error) {
      if (error instanceof DecisionError) {
        this.logger?.warn({ issues: error.issues, keeping: before }, `rules refused; still serving the last good rules\n${issueLines(error.issues)}`);
        return this.reported({ ok: false, versions: before, changed: [], issues: error.issues });
      }
      // Not a problem with a rule file the loader knows how to name: a fault of the loader itself. Still a refusal.
      const issues: Issue[] = [{ pointer: '', message: `the rules could not be loaded: ${(error as Error)?.message ?? String(error)}` }];
      this.logger?.error({ err: error, keeping: before }, 'rules reload failed; still serving the last good rules');
      return this.reported({ ok: false, versions: before, changed: [], issues });
    }
  }

  /** The folder's rules, overlaid with the published versions when there are any: what a reload would swap in. */
  load(): LoadedRegistry {
    const published = this.published?.() ?? [];
    return published.length > 0 ? loadRulesInForce(this.directory, published, { modules: this.modules }) : loadRules(this.directory, { modules: this.modules });
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
    // An FSWatcher with no 'error' listener throws its error (the folder removed, say) and ends the process.
    // The rules in force stay; POST /v1/admin/reload still reloads on demand.
    this.watcher.on('error', (error) => {
      this.logger?.error(
        { err: error, directory: this.directory },
        'the rules folder can no longer be watched; edits are picked up only by POST /v1/admin/reload',
      );
      this.watcher?.close();
    });
  }

  close(): void {
    this.watcher?.close();
  }
}
