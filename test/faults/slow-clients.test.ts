// Issue 11 point 7, against the real clustered server: slow and greedy clients are refused or closed, and the service keeps answering.
import { run } from '../system/faults/slow-clients';
import { ensureBuilt } from '../support/built';

beforeAll(() => ensureBuilt());

test('a huge Content-Length is a 413 at once, a drip-fed evaluate a 503, a slowloris a 408, a silent client and surplus connections are closed, and light requests are answered throughout', async () => {
  const report = await run({ quick: true });
  expect(report.problems).toEqual([]);
  const text = report.details.join('\n');
  for (const route of ['evaluate', 'evaluate-batch']) {
    expect(text).toMatch(
      new RegExp(
        `^${route} with Content-Length: 99999999999, the client sending as fast as it can: 413 payload-too-large after \\d+ ms, Connection: close; the server ended the connection after [\\d.]+ m?s`,
        'm',
      ),
    );
  }
  expect(text).toMatch(
    /a drip-fed evaluate \(a byte every 100 ms; REQUEST_TIMEOUT_MS 1,000\): 503 timeout after [12]\.\d s, Connection: close; the server ended the connection after [\d.]+ s/,
  );
  expect(text).toMatch(/a slowloris \(a header line every 200 ms; HEADERS_TIMEOUT_MS 1,000\): 408 after [\d.]+ s; closed after [\d.]+ s/);
  expect(text).toMatch(
    /a batch whose client sent one line and fell silent \(IDLE_TIMEOUT_MS 2,000\): 200, 1 answer line \(a decision\); closed after [\d.]+ s/,
  );
  expect(text).toMatch(
    /against a cap of 20 per worker \(2 workers.*\): (\d+) held, (\d+) closed at once \(\2 with nothing sent\); a light evaluate on a held connection 200; a new connection once 10 were freed: 200/,
  );
  expect(text.match(/light evaluations meanwhile: 200×\d+$/gm)).toHaveLength(2);
  expect(report.logHolds).toMatch(/^([\d,]+) of \1 decisions answered 200/);
}, 180_000);
