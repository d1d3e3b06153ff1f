// Issue 11 point 6, against the real clustered server: a batch stops at its first bound with one final problem line, then closes.
import { run } from '../system/faults/batch-bomb';
import { ensureBuilt } from '../support/built';

beforeAll(() => ensureBuilt());

test('a brotli bomb, a batch past its line cap and a client that never finishes each end at their bound, one final line naming where to resume, and the connection closed', async () => {
  const report = await run({ quick: true });
  expect(report.problems).toEqual([]);
  const text = report.details.join('\n');
  // The bomb: 200 MiB of newlines in a few hundred bytes. Answered up to the cap (each empty line a 400), then one 413 line.
  expect(text).toMatch(
    /a \d{3}-byte brotli body of 200 MiB of newlines: 200, 2,001 lines \([\d.]+ MiB\) in [\d.]+ m?s: invalid-json×2,000, too-many-lines×1; decisions 0; the last line 2,001 413 too-many-lines; the server closed the connection/,
  );
  // Past the 16 MiB size bound: the 20 real lines decided, the 2 MiB lines of spaces that fit each a 413 line, then the stop.
  expect(text).toMatch(
    /brotli body of 20 lines and 64 MiB of spaces \(bound 16 MiB\): 200, 28 lines .*decisions 20; the last line 28 413 payload-too-large; the server closed the connection/,
  );
  // Past the line cap with real lines: every line within it decided, then the stop.
  expect(text).toMatch(
    /3,000 real lines \(gzip, [\d,]+ bytes\) against a cap of 2,000: 200, 2,001 lines .*decisions 2,000; the last line 2,001 413 too-many-lines; the server closed the connection/,
  );
  // A client that never ends: its lines decided as they came, then one 503 line at the 2 s bound, and nothing more read.
  expect(text).toMatch(
    /a client sending a line every 100 ms and never ending \(bound 2\.0 s\): 200, (\d+) lines .*timeout×1; decisions \d+; the last line \d+ 503 timeout; the server closed the connection/,
  );
  expect(text).toMatch(/light evaluations meanwhile: 200×\d+$/m);
  expect(report.logHolds).toMatch(/^([\d,]+) of \1 decisions answered 200/);
}, 180_000);
