// A free loopback port, for anything a test or a script starts on its own port (the built server, PostgreSQL).
import { createServer } from 'node:net';

/** A TCP port free on loopback now (the OS picks it; the caller binds it next). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
