// A raw TCP connection to a test server: what a misbehaving client sends (headers only, a body dripped), and what comes back.
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Server } from 'node:http';

export interface RawConnection {
  socket: Socket;
  /** Everything the server has sent so far, as latin1 text (an answer's head and body). */
  received: () => string;
  /** When the server ended the connection (performance.now()), or NaN if it had not within `waitMs`. */
  ended: Promise<number>;
}

/** Connects to `server` and writes `text` (say, a request's head with no body); the caller destroys the socket. */
export function rawConnection(server: Server, text: string, waitMs = 3_000): RawConnection {
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk.toString('latin1');
  });
  socket.on('error', () => {});
  const ended = new Promise<number>((resolve) => {
    socket.once('end', () => resolve(performance.now()));
    setTimeout(() => resolve(Number.NaN), waitMs);
  });
  socket.write(text);
  return { socket, received: () => received, ended };
}
