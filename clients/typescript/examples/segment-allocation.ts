// A caseworker tool's first call: which Personalised Services segment does this customer belong in?
// Run it against a service: PS_URL=http://127.0.0.1:3000 PS_KEY=<a caseworker key> npx tsx clients/typescript/examples/segment-allocation.ts
import { createPsClient, ProblemError } from '../src';

async function main(): Promise<void> {
  const client = createPsClient({ baseUrl: process.env.PS_URL ?? 'http://127.0.0.1:3000', apiKey: process.env.PS_KEY ?? '' });

  const decision = await client.evaluate('segment-allocation', {
    facts: { program: 'child-support', referral: { source: 'ombudsman' }, customer: { psHistory: 'previously' } },
  });

  // The outcome is segment allocation's own: its segment (1, 2 or 3), and whether segment 3 needs approval.
  console.log('segment', decision.outcome.segment);
  console.log('requires approval', decision.outcome.requiresApproval);
  for (const reason of decision.summary.reasons) console.log(`- ${reason.text}`);
}

main().catch((error: unknown) => {
  // Every answer that is not a 2xx is a ProblemError: its status, stable code and detail say what went wrong.
  if (error instanceof ProblemError) console.error(`${error.status} ${error.code ?? ''}: ${error.detail ?? error.message}`);
  else console.error(error);
  process.exitCode = 1;
});
