// The worker threads: started with the same setup, checked to hold the same rules, fed chunks two at a time each.
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { ChunkMessage, ChunkResult, TriageSetup, WorkerReply } from './protocol';

interface Task {
  chunk: ChunkMessage;
  resolve: (result: ChunkResult) => void;
  reject: (error: Error) => void;
}

/** Each worker holds up to this many chunks, so it never idles waiting for the next message. */
const PER_WORKER = 2;

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly busy = new Map<Worker, Map<number, Task>>();
  private readonly queue: Task[] = [];
  private failure: Error | undefined;

  private constructor() {}

  /** Starts `count` workers; resolves once each has loaded rules hashing to `versions`. */
  static async start(count: number, setup: TriageSetup, versions: Record<string, string>): Promise<WorkerPool> {
    const pool = new WorkerPool();
    const script = path.join(__dirname, 'worker.js');
    const ready = Array.from({ length: count }, () => {
      const worker = new Worker(script, { workerData: setup, resourceLimits: { maxYoungGenerationSizeMb: 32 } });
      pool.workers.push(worker);
      pool.busy.set(worker, new Map());
      return new Promise<void>((resolve, reject) => {
        worker.on('message', (message: WorkerReply) => {
          if (message.type === 'ready') {
            if (!isDeepStrictEqual(message.versions, versions))
              reject(new Error('a worker loaded different rule versions from the main thread (were the rules edited during start-up?)'));
            else resolve();
          } else if (message.type === 'fatal') {
            const error = new Error(`triage worker failed: ${message.message}`);
            reject(error);
            pool.fail(error);
          } else pool.finished(worker, message);
        });
        worker.on('error', (error) => {
          reject(error);
          pool.fail(error);
        });
        worker.on('exit', (code) => {
          if (code !== 0 && !pool.failure) pool.fail(new Error(`a triage worker exited with code ${code}`));
        });
      });
    });
    try {
      await Promise.all(ready);
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /** A chunk's result; rejected, with every other pending chunk, if any worker fails. */
  submit(chunk: ChunkMessage): Promise<ChunkResult> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.queue.push({ chunk, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    // Reject rather than race each result against a failure promise: a long-lived promise raced
    // thousands of times keeps every result it was raced with alive.
    const pending = [...this.queue.splice(0), ...[...this.busy.values()].flatMap((tasks) => [...tasks.values()])];
    for (const tasks of this.busy.values()) tasks.clear();
    for (const task of pending) task.reject(error);
  }

  private finished(worker: Worker, result: ChunkResult): void {
    const tasks = this.busy.get(worker) as Map<number, Task>;
    const task = tasks.get(result.seq);
    tasks.delete(result.seq);
    task?.resolve(result);
    this.dispatch();
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let least: Worker | undefined;
      for (const worker of this.workers) {
        const load = (this.busy.get(worker) as Map<number, Task>).size;
        if (load < PER_WORKER && (!least || load < (this.busy.get(least) as Map<number, Task>).size)) least = worker;
      }
      if (!least) return;
      const task = this.queue.shift() as Task;
      (this.busy.get(least) as Map<number, Task>).set(task.chunk.seq, task);
      least.postMessage(task.chunk, [task.chunk.data.buffer as ArrayBuffer, ...(task.chunk.recycled ?? [])]);
    }
  }
}
