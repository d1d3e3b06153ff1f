// Sends README.md's example request to a running service and checks the answer is the README's response.
// Used by .ci/run after `npm start`; exits non-zero on any difference.
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { isDeepStrictEqual } = require('node:util');

const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
const block = (marker) => {
  const match = readme.match(new RegExp(`<!-- ${marker} -->\\s*\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\``));
  if (!match) throw new Error(`README.md has no block marked ${marker}`);
  return match[1];
};

async function main() {
  const curl = block('example-request');
  const body = curl.match(/-d '([\s\S]*?)'/)[1];
  const route = curl.match(/localhost:3000(\/\S+)/)[1];
  const expected = JSON.parse(block('example-response'));
  const key = process.env.PS_KEY;
  if (!key) throw new Error('set PS_KEY to a caseworker key the service accepts (API_KEYS)');
  const res = await fetch(`http://127.0.0.1:${process.env.PORT || 3000}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body,
  });
  const actual = await res.json();
  // Every decision gets a new id: it must be a UUID, the one in the X-Decision-Id header; the rest must be exactly the README's.
  const id = actual.decisionId;
  const idOk = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id) && res.headers.get('x-decision-id') === id;
  if (res.status !== 200 || !idOk || !isDeepStrictEqual({ ...actual, decisionId: expected.decisionId }, expected)) {
    console.error('README example differs from the service:', res.status, JSON.stringify(actual, null, 2));
    process.exit(1);
  }
  console.log('README example request answered exactly as README.md shows');
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
