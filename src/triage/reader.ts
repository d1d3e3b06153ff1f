// Reads the input file as Buffers and cuts it into chunks of whole records, counting lines as it goes.
import { open, type FileHandle } from 'node:fs/promises';
import { parse as parseCsv } from 'csv-parse/sync';
import type { RecordFormat } from './protocol';

/**
 * About this much input per chunk: large enough that messaging is noise, small enough that a chunk's records die in
 * the worker's young generation (512 KiB chunks spent a quarter more CPU, much of it collecting what a chunk kept).
 */
export const CHUNK_BYTES = 64 * 1024;
/** A CSV with an unclosed quote would otherwise swallow the rest of the file into one chunk. */
const MAX_CSV_RECORD_BYTES = 16 * 1024 * 1024;
const NEWLINE = 10;
const QUOTE = 34;

export interface InputChunk {
  data: Uint8Array;
  /** 1-based line number of the chunk's first line. */
  firstLine: number;
}

function countNewlines(buffer: Uint8Array): number {
  let count = 0;
  for (let at = buffer.indexOf(NEWLINE); at >= 0; at = buffer.indexOf(NEWLINE, at + 1)) count += 1;
  return count;
}

/** The last newline outside double quotes (RFC 4180: "" inside quotes flips twice, so parity holds), or -1. */
export function lastCsvBoundary(buffer: Buffer): number {
  let last = -1;
  let quoted = false;
  let from = 0;
  for (;;) {
    const quote = buffer.indexOf(QUOTE, from);
    if (!quoted) {
      const end = quote < 0 ? buffer.length : quote;
      if (end - 1 >= from) {
        const newline = buffer.lastIndexOf(NEWLINE, end - 1);
        if (newline >= from) last = newline;
      }
    }
    if (quote < 0) return last;
    quoted = !quoted;
    from = quote + 1;
  }
}

/**
 * Reusable chunk buffers: the reader fills one, it travels to a worker and comes back with the
 * result. Fresh buffers per chunk are freed only by the main thread's rare garbage collections.
 */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  static readonly CAPACITY = 2 * CHUNK_BYTES + 1;

  acquire(size: number): Uint8Array {
    if (size > BufferPool.CAPACITY) return new Uint8Array(size);
    return new Uint8Array(this.free.pop() ?? new ArrayBuffer(BufferPool.CAPACITY), 0, size);
  }

  release(view: Uint8Array): void {
    if (view.buffer.byteLength === BufferPool.CAPACITY && this.free.length < 64) this.free.push(view.buffer as ArrayBuffer);
  }
}

export class ChunkReader {
  /** One buffer for the whole read: the unsent bytes are work[start, end). */
  private work = Buffer.allocUnsafeSlow(2 * CHUNK_BYTES);
  private start = 0;
  private end = 0;
  private nextLine = 1;
  private eof = false;
  readonly buffers = new BufferPool();

  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    private readonly format: RecordFormat,
  ) {}

  /** Opens the input; throws (a usage error for the caller) when it cannot be read. */
  static async open(file: string, format: RecordFormat): Promise<ChunkReader> {
    const handle = await open(file, 'r');
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new Error(`${file} is not a file`);
      return new ChunkReader(handle, stat.size, format);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  private get pending(): Buffer {
    return this.work.subarray(this.start, this.end);
  }

  /** CSV: the header row, byte-order mark dropped; the data's line numbers continue after it. */
  async readHeader(): Promise<string[] | undefined> {
    let cut = firstCsvBoundary(this.pending);
    while (cut < 0 && !this.eof) {
      await this.fill();
      cut = firstCsvBoundary(this.pending);
    }
    const length = cut < 0 ? this.end - this.start : cut + 1;
    const header = Buffer.from(this.work.subarray(this.start, this.start + length));
    this.start += length;
    this.nextLine += Math.max(1, countNewlines(header));
    const rows = parseCsv(header, { bom: true, relax_column_count: true });
    return rows[0]?.map((h) => h.trim());
  }

  /** The next chunk of whole records (always ending in "\n"), or undefined at the end of the file. */
  async next(): Promise<InputChunk | undefined> {
    for (;;) {
      const pending = this.pending;
      if (pending.length >= CHUNK_BYTES || this.eof) {
        let cut = this.format === 'csv' ? lastCsvBoundary(pending) : pending.lastIndexOf(NEWLINE);
        if (cut < 0 && this.format === 'csv' && pending.length > MAX_CSV_RECORD_BYTES) cut = pending.lastIndexOf(NEWLINE);
        if (cut >= 0 || this.eof) {
          if (pending.length === 0) return undefined;
          // At the end of the file everything goes, and a final line without its newline gets one.
          const take = this.eof ? pending.length : cut + 1;
          const data = this.buffers.acquire(take + (pending[take - 1] === NEWLINE ? 0 : 1));
          data.set(pending.subarray(0, take));
          if (take < data.length) data[take] = NEWLINE;
          this.start += take;
          const chunk = { data, firstLine: this.nextLine };
          this.nextLine += countNewlines(data);
          return chunk;
        }
      }
      await this.fill();
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  private async fill(): Promise<void> {
    // Make room for a full read after the pending bytes: move them to the front, or grow (a long line).
    if (this.work.length - this.end < CHUNK_BYTES) {
      const pending = this.end - this.start;
      if (pending + CHUNK_BYTES > this.work.length) {
        const bigger = Buffer.allocUnsafeSlow(2 * (pending + CHUNK_BYTES));
        this.work.copy(bigger, 0, this.start, this.end);
        this.work = bigger;
      } else this.work.copyWithin(0, this.start, this.end);
      this.start = 0;
      this.end = pending;
    }
    const { bytesRead } = await this.handle.read(this.work, this.end, this.work.length - this.end, null);
    if (bytesRead === 0) {
      this.eof = true;
      return;
    }
    this.end += bytesRead;
  }
}

/** The first newline outside quotes: where the header row ends. */
function firstCsvBoundary(buffer: Buffer): number {
  let quoted = false;
  for (let i = 0; i < buffer.length; i += 1) {
    const byte = buffer[i];
    if (byte === QUOTE) quoted = !quoted;
    else if (byte === NEWLINE && !quoted) return i;
  }
  return -1;
}
