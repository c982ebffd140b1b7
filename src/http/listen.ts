/**
 * Listening on a port, with the one failure a user can fix named plainly: a port already in use
 * says which port and which setting moves it ("port 8080 is in use; set PORT"). Express 5's
 * `app.listen` calls its callback on errors too, which left a server with no address behind.
 */
import type { Server } from 'node:http';

export class PortInUseError extends Error {
  readonly port: number;
  readonly variable: string;

  constructor(port: number, variable: string) {
    super(`port ${port} is in use; set ${variable}`);
    this.name = 'PortInUseError';
    this.port = port;
    this.variable = variable;
  }
}

/** Resolves once `server` listens on `host:port`; rejects with PortInUseError when the port is taken. */
export async function listen(
  server: Server,
  options: { port: number; host: string; variable: string },
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(err.code === 'EADDRINUSE' ? new PortInUseError(options.port, options.variable) : err);
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
