// A real PostgreSQL server for tests: its own cluster in a temporary folder, on a free loopback port, trust auth.
//
// The decision log's PostgreSQL store is tested against PostgreSQL itself, not a mock: what it must get right (one
// statement being atomic, jsonb and timestamptz giving back what was written, a server going away) is the server's
// behaviour. CI installs Debian's postgresql package (.ci/run); this finds its binaries wherever the version puts them.
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from './net';

const run = promisify(execFile);
const ROOT = '/usr/lib/postgresql';

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:<port>/<database>: no password, the server trusts loopback connections. */
  url: string;
  port: number;
  /** Another empty database on the same server, for a test that must not share tables. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast: open sessions are ended) and deletes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** The newest installed PostgreSQL's bin folder; an Error saying what to install if there is none. */
export function postgresBin(): string {
  const versions = existsSync(ROOT) ? readdirSync(ROOT).filter((v) => /^\d+$/.test(v) && existsSync(path.join(ROOT, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (newest === undefined) {
    throw new Error(
      `PostgreSQL's server binaries (initdb, pg_ctl) are not installed under ${ROOT}/*/bin: the decision log's PostgreSQL tests need a real server. Install Debian's postgresql package (apt-get install postgresql), as .ci/run does.`,
    );
  }
  return path.join(ROOT, newest, 'bin');
}

export async function startPostgres(database = 'ps_decisions'): Promise<TestPostgres> {
  const bin = postgresBin();
  // initdb refuses to run as root (a server broken into would own the machine), so as root
  // the server runs as the postgres user Debian's package creates, and owns the folder.
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? postgresUser() : undefined;
  const command = (tool: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args]] : [path.join(bin, tool), args];

  const folder = mkdtempSync(path.join(tmpdir(), 'ps-postgres-'));
  const data = path.join(folder, 'data');
  const sockets = path.join(folder, 'sockets');
  const logFile = path.join(folder, 'server.log');
  mkdirSync(sockets);
  if (owner) for (const p of [folder, sockets]) chownSync(p, owner.uid, owner.gid);
  // The tools run in the folder: as postgres, the test's working directory may not be readable.
  const options = { cwd: folder, env: { ...process.env, LC_ALL: 'C' } };

  let port: number;
  const pgCtl = (args: string[]) => {
    const [file, argv] = command('pg_ctl', args);
    return run(file, argv, options);
  };
  try {
    const [initdb, initArgs] = command('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
    await run(initdb, initArgs, options);
    // A port free a moment ago may be taken by the time the server binds it (another test file starting its own): retry.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await pgCtl(['start', '-D', data, '-w', '-t', '60', '-l', logFile, '-o', `-c listen_addresses=127.0.0.1 -p ${port} -k ${sockets}`]);
        break;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  } catch (error) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    rmSync(folder, { recursive: true, force: true });
    throw new Error(`the test PostgreSQL server did not start: ${(error as Error).message}\n${log}`, { cause: error });
  }

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', stopNow);
    await pgCtl(['stop', '-D', data, '-m', 'fast', '-w']).catch(() => undefined);
    rmSync(folder, { recursive: true, force: true });
  };
  // If the test process ends without stop() (a failed beforeAll, an interrupted run), the server must not outlive it.
  const stopNow = () => {
    if (stopped) return;
    const [file, argv] = command('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']);
    try {
      execFileSync(file, argv, { ...options, stdio: 'ignore' });
    } catch {
      // Already gone.
    }
    rmSync(folder, { recursive: true, force: true });
  };
  process.on('exit', stopNow);

  const base = `postgres://postgres@127.0.0.1:${port}`;
  const createDatabase = async (name: string) => {
    const client = new Client({ connectionString: `${base}/postgres` });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return `${base}/${name}`;
  };
  try {
    return { url: await createDatabase(database), port, createDatabase, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function postgresUser(): { uid: number; gid: number } {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      `the tests run as root (${userInfo().username}), and PostgreSQL will not: they run it as the postgres user, which does not exist. Install Debian's postgresql package, which creates it.`,
    );
  }
}
