// --sort priority: compact ranking fields per record in typed arrays, then copying records in rank order.
import { closeSync, openSync, readSync } from 'node:fs';
import { rankOrder } from './priority';
import type { RecordFormat } from './protocol';

/** Grows by doubling; a million records cost about 20 MB here, whatever their size on disk. */
export class RankIndex {
  count = 0;
  private keys = new Int32Array(1 << 14);
  private offsets = new Float64Array(1 << 14);
  private lengths = new Uint32Array(1 << 14);
  private cuts = new Uint32Array(1 << 14);
  /** Bytes of unsorted output so far: the next record's offset in the spill file. */
  private written = 0;

  /** Adds one chunk's records, which were just appended to the spill file in input order. */
  add(keys: Int32Array, lengths: Uint32Array, cuts: Uint32Array): void {
    const need = this.count + keys.length;
    if (need > this.keys.length) {
      let size = this.keys.length;
      while (size < need) size *= 2;
      this.keys = grow(this.keys, new Int32Array(size));
      this.offsets = grow(this.offsets, new Float64Array(size));
      this.lengths = grow(this.lengths, new Uint32Array(size));
      this.cuts = grow(this.cuts, new Uint32Array(size));
    }
    for (let i = 0; i < keys.length; i += 1) {
      const at = this.count + i;
      this.keys[at] = keys[i] as number;
      this.offsets[at] = this.written;
      this.lengths[at] = lengths[i] as number;
      this.cuts[at] = cuts[i] as number;
      this.written += lengths[i] as number;
    }
    this.count = need;
  }

  /**
   * Writes every record from the spill file to `write` in rank order, the 1-based rank inserted
   * at each record's cut. Blocks of whole lines; `stop` is polled between blocks (SIGINT).
   */
  async copyRanked(spillFile: string, format: RecordFormat, write: (block: Buffer) => Promise<void>, stop: () => boolean): Promise<number> {
    const order = rankOrder(this.keys, this.count);
    // Synchronous positioned reads: a promise and a thread-pool trip per record would cost more than the copy.
    const spill = openSync(spillFile, 'r');
    const BLOCK = 1 << 20;
    let block = Buffer.allocUnsafe(BLOCK);
    let used = 0;
    let scratch = Buffer.allocUnsafe(64 * 1024);
    try {
      for (let rank = 1; rank <= this.count; rank += 1) {
        const i = order[rank - 1] as number;
        const length = this.lengths[i] as number;
        const cut = this.cuts[i] as number;
        if (length > scratch.length) scratch = Buffer.allocUnsafe(length * 2);
        const bytesRead = readExactly(spill, scratch, length, this.offsets[i] as number);
        if (bytesRead !== length) throw new Error(`the spill file ${spillFile} is shorter than was written`);
        const label = format === 'ndjson' ? `"rank":${rank},` : `${rank},`;
        const size = length + label.length;
        if (used + size > block.length) {
          if (used > 0) {
            await write(block.subarray(0, used));
            block = Buffer.allocUnsafe(Math.max(BLOCK, size));
            used = 0;
            // Stopped between blocks: the records ranked before this one are written.
            if (stop()) return rank - 1;
          }
          if (size > block.length) block = Buffer.allocUnsafe(size);
        }
        used += scratch.copy(block, used, 0, cut);
        used += block.write(label, used, 'latin1');
        used += scratch.copy(block, used, cut, length);
      }
      if (used > 0) await write(block.subarray(0, used));
      return this.count;
    } finally {
      closeSync(spill);
    }
  }
}

function grow<T extends Int32Array | Float64Array | Uint32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** Reading a record back: one positioned read, looped only if the OS returns less. */
function readExactly(fd: number, into: Buffer, length: number, position: number): number {
  let total = 0;
  while (total < length) {
    const bytesRead = readSync(fd, into, total, length - total, position + total);
    if (bytesRead === 0) break;
    total += bytesRead;
  }
  return total;
}
