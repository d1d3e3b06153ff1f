// Writes src/rulesets/openapi-examples.json: for each operation of the OpenAPI document, one real exchange with the service
// on the shipped rules, which the document shows as that operation's examples (the request body sent, when it takes
// one, and the answer). `npm run docs:examples` after changing a route or an answer (then `npm run client:generate`:
// the client's types carry the examples too); test/api/openapi.test.ts checks
// that every operation has one and that each holds to its schema. Long texts (the rules page, the metrics, this
// document itself) are cut to their first lines: an example shows the shape, not the whole.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { keysFromEnvironment } from '../src/api/access';
import { Metrics } from '../src/api/metrics';
import { createApp } from '../src/api/app';
import { openApiDocument } from '../src/api/openapi';
import { SqliteProposalStore } from '../src/authoring/proposal-store';
import { DecisionRecorder } from '../src/decisions/recorder';
import { SqliteDecisionLog } from '../src/decisions/sqlite';
import { defaultRulesDirectory, loadRules } from '../src/loader/load';
import { RuleStore } from '../src/loader/store';
import { RULE_SET_MODULES } from '../src/rulesets';

// Under src/rulesets/, the one folder of the service that may name a rule set: the exchanges are the shipped rule sets'.
const OUT = path.join(__dirname, '..', 'src', 'rulesets', 'openapi-examples.json');
const SECRETS = {
  caseworker: 'example-caseworker-0123456789abcdef',
  policy: 'example-policy-0123456789abcdef00',
  auditor: 'example-auditor-0123456789abcdef0',
};
/** A second policy officer, who approves what the first proposes. */
const SECOND_POLICY = 'example-policy-2-0123456789abcdef0';
const KEYS = Object.entries(SECRETS)
  .map(([role, secret]) => `example-${role}:${role}:${secret}`)
  .join(',');
const AS_OF = '2025-06-02';
/** The proposals' exchanges are of a fixed day (the service's clock, in Sydney 2025-06-02), so the examples stay the same whenever they are written. */
const PROPOSED_AT = new Date('2025-06-02T00:30:00Z');

/** One exchange: the request body (as sent), and the answer's status, media type and body. */
interface Example {
  request?: { mediaType: string; value: unknown };
  response: { status: number; mediaType: string; value: unknown };
}

const cut = (text: string, lines: number): string => `${text.split('\n').slice(0, lines).join('\n')}\n`;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ps-examples-'));
  const log = new SqliteDecisionLog({ dataDir });
  const store = new RuleStore(defaultRulesDirectory(), RULE_SET_MODULES, { info: () => undefined, warn: () => undefined, error: () => undefined });
  const app = createApp({
    rules: () => store.current(),
    reload: () => store.reload(),
    candidateRules: () => loadRules(defaultRulesDirectory(), { modules: RULE_SET_MODULES }),
    access: keysFromEnvironment({ API_KEYS: KEYS }).ring,
    // The facts are not kept (the default), so the decision record shows what an auditor sees of most decisions.
    recorder: new DecisionRecorder(log, { keepFacts: false }),
    metrics: new Metrics({ processMetrics: false }),
  });
  // Proposals publish into the rules folder: a copy of it, with its own service on a fixed clock, so the shipped rules
  // are never written and the examples name the same day whenever they are made.
  const proposalRules = mkdtempSync(path.join(tmpdir(), 'ps-examples-rules-'));
  cpSync(defaultRulesDirectory(), proposalRules, { recursive: true });
  const proposalStore = new RuleStore(proposalRules, RULE_SET_MODULES, { info: () => undefined, warn: () => undefined, error: () => undefined });
  const proposals = new SqliteProposalStore(log.location);
  const proposalKeys = `${KEYS},example-policy-2:policy:${SECOND_POLICY}`;
  const proposalApp = createApp({
    rules: () => proposalStore.current(),
    reload: () => proposalStore.reload(),
    clock: () => PROPOSED_AT,
    access: keysFromEnvironment({ API_KEYS: proposalKeys }).ring,
    recorder: new DecisionRecorder(log, { keepFacts: false }),
    proposals: { store: proposals, directory: proposalRules, modules: RULE_SET_MODULES, fixturesDirectory: path.join(__dirname, '..', 'fixtures') },
  });
  const proposalServer = createServer(proposalApp).listen(0, '127.0.0.1');
  await new Promise((resolve) => proposalServer.once('listening', resolve));
  const proposalBase = `http://127.0.0.1:${(proposalServer.address() as AddressInfo).port}`;
  const server = createServer(app).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const call = async (
      role: keyof typeof SECRETS | 'policy-2' | null,
      method: string,
      url: string,
      body?: { mediaType: string; value: unknown },
      at = base,
    ): Promise<Example> => {
      const secret = role === 'policy-2' ? SECOND_POLICY : role ? SECRETS[role] : undefined;
      const headers: Record<string, string> = secret ? { Authorization: `Bearer ${secret}` } : {};
      let sent: string | undefined;
      if (body) {
        headers['Content-Type'] = body.mediaType;
        sent = typeof body.value === 'string' ? body.value : JSON.stringify(body.value);
      }
      const res = await fetch(`${at}${url}`, { method, headers, ...(sent === undefined ? {} : { body: sent }) });
      const mediaType = (res.headers.get('content-type') ?? '').split(';')[0] as string;
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${url} answered ${res.status}: ${text.slice(0, 300)}`);
      const value = mediaType === 'application/json' || mediaType.endsWith('+json') ? (JSON.parse(text) as unknown) : text;
      return { ...(body ? { request: body } : {}), response: { status: res.status, mediaType, value } };
    };
    const segment = RULE_SET_MODULES['segment-allocation']!.example;
    const evaluateBody = { asOf: AS_OF, facts: segment };
    const examples: Record<string, Example> = {};
    examples.health = await call(null, 'GET', '/health');
    examples.ready = await call(null, 'GET', '/ready');
    const metrics = await call(null, 'GET', '/metrics');
    examples.metrics = { response: { ...metrics.response, value: cut(metrics.response.value as string, 12) } };
    const document = openApiDocument();
    examples.openApi = {
      response: {
        status: 200,
        mediaType: 'application/json',
        value: { openapi: document.openapi, info: document.info, paths: { '/health': document.paths['/health'] } },
      },
    };
    const page = await call(null, 'GET', '/rules');
    examples.rulesPage = { response: { ...page.response, value: cut(page.response.value as string, 8) } };
    examples.listRuleSets = await call('caseworker', 'GET', '/v1/rulesets');
    // The smallest rule set, so the example stays readable.
    examples.getRuleSet = await call('caseworker', 'GET', `/v1/rulesets/specialist-transfer?asOf=${AS_OF}`);
    // The summary answer's example: the module's example with two escalated complaints about one topic (segment 3), so
    // that it shows a change that reaches another segment, as the issue that asked for the summary put it.
    const complaints = [
      { date: '2024-11-04', stage: 'escalated', topic: 'debt recovery', upheld: false },
      { date: '2025-03-17', stage: 'escalated', topic: 'debt recovery', upheld: true },
    ];
    examples.evaluate = await call('caseworker', 'POST', '/v1/rulesets/segment-allocation/evaluate?explain=summary', {
      mediaType: 'application/json',
      value: { asOf: AS_OF, facts: { ...segment, customer: { ...(segment.customer as object), complaints } } },
    });
    const lines = [
      { id: 'r-1', asOf: AS_OF, facts: segment },
      // Facts of the vocabulary, but without one the rule set requires (where the referral came from): a problem line.
      { id: 'r-2', asOf: AS_OF, facts: { ...segment, referral: {} } },
    ];
    examples.evaluateBatch = await call('caseworker', 'POST', '/v1/rulesets/segment-allocation/evaluate-batch?explain=none', {
      mediaType: 'application/x-ndjson',
      value: lines.map((line) => `${JSON.stringify(line)}\n`).join(''),
    });
    examples.reload = await call('policy', 'POST', '/v1/admin/reload');
    examples.impact = await call('policy', 'POST', '/v1/admin/impact', {
      mediaType: 'application/json',
      value: { cases: [{ id: 'c-1', ruleSet: 'segment-allocation', ...evaluateBody }] },
    });
    // The decision log's examples are of the smallest rule set's decision (a re-run carries the whole explanation).
    const transfer = RULE_SET_MODULES['specialist-transfer']!.example;
    const decided = await call('caseworker', 'POST', '/v1/rulesets/specialist-transfer/evaluate?explain=none', {
      mediaType: 'application/json',
      value: { asOf: AS_OF, facts: transfer },
    });
    const decisionId = (decided.response.value as { decisionId: string }).decisionId;
    examples.getDecision = await call('auditor', 'GET', `/v1/decisions/${decisionId}`);
    examples.reproduceDecision = await call('auditor', 'POST', `/v1/decisions/${decisionId}/reproduce`, {
      mediaType: 'application/json',
      value: { facts: transfer },
    });
    // A proposal of a rule set with a number among its parameters: one changed, in force from the next day; approved by the second
    // officer, and another rejected. Its impact is over the rule set's fixtures.
    const ruleSet = 'exit-readiness';
    const drafted = JSON.parse(readFileSync(path.join(proposalRules, `${ruleSet}.json`), 'utf8')) as { parameters: Record<string, { value: unknown }> };
    const [parameter, { value }] = Object.entries(drafted.parameters).find(([, p]) => typeof p.value === 'number') as [string, { value: number }];
    drafted.parameters[parameter] = { ...drafted.parameters[parameter], value: value + 1 };
    // What the draft would change in the fixtures before it is proposed (the policy editor asks as it is edited), and in
    // a backlog of two referrals sent with it.
    const backlog = ['01-centrelink-all-met', '07-cs-letter-thirteen-days-not-ready']
      .map((name) => {
        const { asOf, facts } = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', ruleSet, `${name}.json`), 'utf8')) as {
          asOf: string;
          facts: unknown;
        };
        return JSON.stringify({ id: name, asOf, facts });
      })
      .join('\n');
    examples.draftImpact = await call(
      'policy',
      'POST',
      `/v1/rulesets/${ruleSet}/draft-impact`,
      { mediaType: 'application/json', value: { file: drafted, backlog: { format: 'ndjson', text: backlog } } },
      proposalBase,
    );
    const proposal = {
      mediaType: 'application/json',
      value: { ruleSet, file: drafted, effectiveFrom: '2025-06-03', rationale: `${parameter} one more, as the revised procedure says.` },
    };
    examples.createProposal = await call('policy', 'POST', '/v1/proposals', proposal, proposalBase);
    const { id } = examples.createProposal.response.value as { id: string };
    const other = await call('policy', 'POST', '/v1/proposals', { ...proposal, value: { ...proposal.value, effectiveFrom: '2025-07-01' } }, proposalBase);
    examples.listProposals = await call('auditor', 'GET', '/v1/proposals?status=proposed', undefined, proposalBase);
    examples.getProposal = await call('auditor', 'GET', `/v1/proposals/${id}`, undefined, proposalBase);
    examples.rejectProposal = await call(
      'policy-2',
      'POST',
      `/v1/proposals/${(other.response.value as { id: string }).id}/reject`,
      { mediaType: 'application/json', value: { comment: 'One change at a time: the earlier date is proposed already.' } },
      proposalBase,
    );
    examples.approveProposal = await call(
      'policy-2',
      'POST',
      `/v1/proposals/${id}/approve`,
      { mediaType: 'application/json', value: { comment: 'Checked against the revised procedure.' } },
      proposalBase,
    );
    const history = await call('auditor', 'GET', `/v1/rulesets/${ruleSet}/history`, undefined, proposalBase);
    // The version just published, not the 40 KB between the older two: an example shows the shape.
    const { versions } = history.response.value as { versions: unknown[] };
    examples.ruleSetHistory = { response: { ...history.response, value: { ...(history.response.value as object), versions: versions.slice(-1) } } };
    writeFileSync(OUT, `${JSON.stringify(examples, null, 2)}\n`);
    console.log(`wrote ${path.relative(process.cwd(), OUT)}: ${Object.keys(examples).length} operations`);
  } finally {
    server.close();
    proposalServer.close();
    proposals.close();
    await log.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(proposalRules, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
