// Engines on loan: a json-rules-engine Engine is never shared by two runs in flight.
//
// json-rules-engine 7.3 keeps run status on the Engine, so overlapping runs on one Engine silently
// skip lower-priority rules. Each run borrows an Engine of its own and returns it when done; the
// pool only grows to the number of runs ever in flight at once.
import { Engine } from 'json-rules-engine';

export class EnginePool {
  private readonly idle: Engine[] = [];

  constructor(private readonly create: () => Engine) {}

  async run<T>(use: (engine: Engine) => Promise<T>): Promise<T> {
    const engine = this.idle.pop() ?? this.create();
    try {
      return await use(engine);
    } finally {
      this.idle.push(engine);
    }
  }

  get size(): number {
    return this.idle.length;
  }
}
