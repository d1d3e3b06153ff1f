// Whether the files at a SQLite database's path are still the ones a connection opened. A file deleted (or replaced)
// under a running service stays open and writable: SQLite goes on committing to the unlinked inode, which is gone for
// good when the process ends, so whatever is "written" there is lost. The decision log and the proposal store, each on
// its own connection to the same file, compare the device and inode of the database and its -wal and -shm files with
// those opened (three stat calls, a few microseconds).
import { statSync } from 'node:fs';
import path from 'node:path';

/** The files a WAL database lives in, all three of which must stay the ones opened. */
const FILES = ['', '-wal', '-shm'] as const;

/** A file's identity (device and inode), or null when nothing is at the path. */
function identityOf(file: string): string | null {
  try {
    const stat = statSync(file, { bigint: true });
    return `${stat.dev}:${stat.ino}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export class OpenedFiles {
  /** The device and inode of the database, its WAL and its shared-memory index, as opened. */
  private readonly opened: readonly (string | null)[];

  /** Taken once the connection has written (in WAL mode the -wal and -shm files exist from the first transaction). */
  constructor(private readonly location: string) {
    this.opened = FILES.map((suffix) => identityOf(location + suffix));
  }

  /** The names of the files at the path that are not the ones opened (deleted or replaced); empty when all are. */
  changed(): string[] {
    return FILES.filter((suffix, i) => identityOf(this.location + suffix) !== this.opened[i]).map((suffix) => path.basename(this.location) + suffix);
  }
}
