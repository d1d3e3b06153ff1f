// A steady trickle of light evaluations while a fault scenario does its damage: what was answered, and when each was sent.
import { Agent } from 'node:http';
import { decisionIdOf, LIGHT, type FaultCluster } from './cluster';

/** One evaluate request, as the loop saw it. */
export interface Sent {
  /** When it was sent, and when its answer (or failure) came back, in ms (performance.now()). */
  sentAt: number;
  doneAt: number;
  status: number;
  decisionId?: string;
  /** The problem's code for a non-200 answer, or the connection error. */
  code?: string;
}

export interface LoadLoop {
  /** Every request so far, in the order answered. */
  readonly sent: Sent[];
  /** Stops sending; resolves when every request out has been answered or has failed. */
  stop(): Promise<Sent[]>;
}

/** `connections` clients each sending LIGHT evaluations one after another (keep-alive), `pauseMs` apart. */
export function loadLoop(cluster: FaultCluster, options: { connections?: number; pauseMs?: number } = {}): LoadLoop {
  const connections = options.connections ?? 2;
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const sent: Sent[] = [];
  let stopped = false;
  const client = async () => {
    while (!stopped) {
      const sentAt = performance.now();
      try {
        const answer = await cluster.evaluate(LIGHT.ruleSet, LIGHT.body, agent);
        let code: string | undefined;
        if (answer.status !== 200) {
          try {
            code = (JSON.parse(answer.body) as { code?: string }).code;
          } catch {
            code = 'not-json';
          }
        }
        sent.push({ sentAt, doneAt: performance.now(), status: answer.status, decisionId: decisionIdOf(answer), code });
      } catch (error) {
        sent.push({ sentAt, doneAt: performance.now(), status: 0, code: (error as Error).message });
      }
      if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  };
  const running = Promise.all(Array.from({ length: connections }, client));
  return {
    sent,
    async stop() {
      stopped = true;
      await running;
      agent.destroy();
      return sent;
    },
  };
}

/** "200×812, 503×40" */
export function statuses(sent: readonly Sent[]): string {
  const counts = new Map<string, number>();
  for (const s of sent) {
    const key = s.status === 0 ? 'no answer' : s.code && s.status !== 200 ? `${s.status} ${s.code}` : String(s.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].map(([key, count]) => `${key}×${count}`).join(', ') || 'none';
}

/** The decision ids answered 200. */
export const answeredIds = (sent: readonly Sent[]): string[] => sent.flatMap((s) => (s.decisionId ? [s.decisionId] : []));

export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 100 ms until it is true or `ms` pass; resolves with whether it became true. */
export async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await pause(100);
  }
  return check();
}
