// Runs the service: loads rules/, serves the API on $PORT (default 3000), logs as JSON, stops gracefully.
import pino from 'pino';
import { createApp } from './api/app';
import { defaultRulesDirectory } from './loader/load';
import { RuleStore } from './loader/store';
import { RULE_SET_MODULES } from './rulesets';
import { DecisionError } from './errors';

const logger = pino({ name: 'ps-decision-service' });
const rulesDirectory = process.env.RULES_DIR ?? defaultRulesDirectory();
const port = Number(process.env.PORT ?? 3000);

let store: RuleStore;
try {
  store = new RuleStore(rulesDirectory, RULE_SET_MODULES, logger);
} catch (error) {
  const issues = error instanceof DecisionError ? error.issues : [];
  const where = issues.map((i) => `${i.file ?? ''}:${i.line ?? 0}:${i.column ?? 0} ${i.message}`).join('\n');
  logger.fatal({ rulesDirectory, issues, err: error }, `rules could not be loaded; not starting\n${where}`);
  process.exit(1);
}

// Edited rule files are picked up as they are saved; POST /v1/admin/reload does the same on demand.
store.watch();
const app = createApp({ rules: () => store.current(), reload: () => store.reload(), logger });
const server = app.listen(port, () => {
  const versions = Object.fromEntries([...store.current().ruleSets.values()].flatMap((rs) => rs.versions.map((v) => [v.sourceFile, v.version])));
  logger.info({ port, rulesDirectory, versions }, `listening on http://localhost:${port}`);
});

function shutdown(signal: string): void {
  logger.info({ signal }, 'stopping: finishing requests in flight');
  store.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(1), 10_000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
