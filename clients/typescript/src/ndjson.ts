// NDJSON both ways, as evaluate-batch speaks it: request lines made into a byte stream as they are pulled (so a batch of
// a million lines is never held in memory), and an answer stream read line by line as it arrives.

/** Anything that gives lines, at once or over time: an array, a generator, a readable stream of objects. */
export type LineSource<T> = Iterable<T> | AsyncIterable<T>;

const isAsync = <T>(source: LineSource<T>): source is AsyncIterable<T> => Symbol.asyncIterator in source;

/**
 * The lines as an NDJSON byte stream: each object as one line of JSON (JSON.stringify never writes a raw newline), each
 * string as it is, for a line already serialised (or deliberately not JSON). A line is read from the source only when
 * the stream is read, so a slow source is sent as it comes. An error of the source, or a string that is not one line,
 * errors the stream and is handed to `failed`, so that the caller can throw it rather than fetch's "terminated".
 *
 * Once `signal` is aborted the source is closed (a generator runs its finally blocks) and the stream ends. The stream
 * must see to that itself: Node's fetch, aborted, neither cancels a request body stream nor stops reading it, so an
 * endless source would be read for ever, in a loop that starves every timer (nodejs/node#61460).
 */
export function ndjsonStream<T>(source: LineSource<T>, signal: AbortSignal, failed: (error: unknown) => void): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let iterator: Iterator<T> | AsyncIterator<T> | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await iterator?.return?.();
  };
  signal.addEventListener('abort', () => void close().catch(() => undefined), { once: true });
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (signal.aborted || closed) {
          await close();
          controller.close();
          return;
        }
        iterator ??= isAsync(source) ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
        const next = await iterator.next();
        if (next.done) {
          closed = true;
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(`${lineText(next.value)}\n`));
      } catch (error) {
        failed(error);
        throw error;
      }
    },
    // Should fetch cancel the body after all (the answer ended before the body was sent): close the source too.
    cancel: close,
  });
}

function lineText(line: unknown): string {
  if (typeof line !== 'string') return JSON.stringify(line);
  if (/[\r\n]/.test(line)) throw new TypeError('a raw NDJSON line must be one line: it holds a line break, which would split it in two');
  return line;
}

/**
 * Each line of an NDJSON byte stream, parsed, as it arrives: a chunk may end mid-line (or mid-character), so what is
 * after its last newline waits for the next. Blank lines are skipped. Stopping early (break, return, throw in the
 * consumer's loop) cancels the stream, which closes the connection.
 */
export async function* ndjsonLines(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending = '';
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
      const lines = (pending + text).split('\n');
      pending = done ? '' : (lines.pop() ?? '');
      for (const line of lines) if (line.trim() !== '') yield JSON.parse(line) as unknown;
      if (done) break;
    }
    finished = true;
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
