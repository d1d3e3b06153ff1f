// The tests' environment: Node's, with a temporary folder of its own for each test file, removed once the file is done.
//
// Tests make temporary folders (rule copies, decision logs, the CLI compiled for triage), and so does what they
// start: the built server's data, a PostgreSQL cluster, the browser's profile, `ps-rules diff --base`'s checkout.
// Each of them asks os.tmpdir(), which reads TMPDIR. With TMPDIR set to a folder of the file's own, and that folder
// removed after the file's last afterAll (an environment's teardown runs after every hook), nothing a test file made
// outlives it, however its tests ended. A file's own afterAll cannot do this: jest runs afterAll hooks in the order
// they were declared, so one declared in a setup file would run before the file's own (a server still writing to
// its data folder); one declared beside each folder, the same.
//
// TMPDIR is set in this process itself: a jest worker runs one test file at a time, and the process.env a test
// sees is a copy jest takes when the environment is made, so the folder is set before that.
//
// The folder is a temporary directory as /tmp is: anyone may make a folder in it (as root, the test PostgreSQL runs
// as the postgres user), and its name is short, because sockets are made under it (Chromium's SingletonSocket,
// PostgreSQL's) and a socket's path may not be longer than about 100 bytes.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import { TestEnvironment } from 'jest-environment-node';

export default class OwnTemporaryFolder extends TestEnvironment {
  private readonly folder: string;
  private readonly outerTmpdir: string | undefined;

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    const outerTmpdir = process.env.TMPDIR;
    const folder = mkdtempSync(path.join(os.tmpdir(), 'ps-test-'));
    chmodSync(folder, 0o1777);
    process.env.TMPDIR = folder;
    super(config, context);
    this.folder = folder;
    this.outerTmpdir = outerTmpdir;
  }

  override async teardown(): Promise<void> {
    await super.teardown();
    if (this.outerTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = this.outerTmpdir;
    // Retried: a process the file stopped may still be closing a file in it (a PostgreSQL server, a browser).
    rmSync(this.folder, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
}
