// Bench settings: the full run docs/performance.md's figures come from, or --quick for development.

export interface BenchSettings {
  quick: boolean;
  seed: number;
  /** Pre-generated, pre-validated cases per rule set; the timed loops cycle through them, and (b) and (c) check every one. */
  cases: number;
  warmMs: number;
  /** Each in-process measurement runs at least this long after its warm-up. */
  minMs: number;
  /** Triage inputs: lines, and corrupt lines among them. */
  triageRuns: { lines: number; corrupt: number }[];
  /** Per body: an unrecorded warm-up (JIT, every worker up), then the measured run. */
  httpWarmSeconds: number;
  httpSeconds: number;
  httpConnections: number;
  /** Lines in the evaluate-batch stream, each a segment allocation. */
  batchLines: number;
}

export function benchSettings(quick: boolean, seed: number): BenchSettings {
  return quick
    ? {
        quick,
        seed,
        cases: 2_000,
        warmMs: 200,
        minMs: 500,
        triageRuns: [{ lines: 10_000, corrupt: 10 }],
        httpWarmSeconds: 1,
        httpSeconds: 3,
        httpConnections: 64,
        batchLines: 10_000,
      }
    : {
        quick,
        seed,
        cases: 20_000,
        warmMs: 1_000,
        minMs: 2_000,
        triageRuns: [
          { lines: 100_000, corrupt: 0 },
          { lines: 1_000_001, corrupt: 1_000 },
        ],
        httpWarmSeconds: 3,
        httpSeconds: 15,
        httpConnections: 64,
        batchLines: 100_000,
      };
}
