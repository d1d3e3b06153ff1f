// The HTTP load generator as a process of its own: autocannon with the bench's settings, its figures as one JSON line.
//
// Run apart from the bench so the client's pauses are its own: in the bench process, the heap left
// by the earlier sections (prepared cases, json-rules-engine engines) lengthened the client's
// garbage collections, and they showed up as the server's tail latency.
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  body: string;
  headers: Record<string, string>;
  connections: number;
  warmSeconds: number;
  seconds: number;
}

export interface LoadFigures {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  total: number;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  const load = { url: spec.url, method: 'POST' as const, headers: spec.headers, body: spec.body, connections: spec.connections };
  await autocannon({ ...load, duration: spec.warmSeconds });
  const result = await autocannon({ ...load, duration: spec.seconds });
  const figures: LoadFigures = {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`load failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
