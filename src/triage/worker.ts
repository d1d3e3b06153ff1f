// The triage worker thread: loads the rules itself, then triages each chunk the main thread sends.
import { parentPort, workerData } from 'node:worker_threads';
import { loadRules, versionsByFile } from '../loader/load';
import { RULE_SET_MODULES } from '../rulesets';
import { ChunkTriage } from './chunk';
import type { ChunkMessage, TriageSetup, WorkerReply } from './protocol';

const port = parentPort;
if (!port) throw new Error('the triage worker runs only as a worker thread');

const reply = (message: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

try {
  const setup = workerData as TriageSetup;
  const registry = loadRules(setup.rulesDirectory, { modules: RULE_SET_MODULES });
  const triage = new ChunkTriage(registry, setup);
  port.on('message', (chunk: ChunkMessage) => {
    try {
      const result = triage.run(chunk);
      reply(result, [
        result.input.buffer as ArrayBuffer,
        result.out.buffer as ArrayBuffer,
        ...[result.keys, result.lengths, result.cuts].flatMap((a) => (a ? [a.buffer as ArrayBuffer] : [])),
      ]);
    } catch (error) {
      reply({ type: 'fatal', message: `chunk ${chunk.seq} (from line ${chunk.firstLine}): ${(error as Error).stack ?? String(error)}` });
    }
  });
  reply({ type: 'ready', versions: versionsByFile(registry) });
} catch (error) {
  reply({ type: 'fatal', message: (error as Error).message });
}
