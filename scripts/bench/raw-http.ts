/**
 * A lean HTTP/1.1 client for load generators: one request at a time per keep-alive TCP connection,
 * each request written as one prepared buffer (request line, headers and body), the response read
 * just far enough to know its status and where it ends (Content-Length or chunked).
 *
 * Why not node:http's client: on this two-core machine the load generator shares the CPU with the
 * parties it measures, and node:http's client cost bench:ingest ~120–150 µs of CPU per request
 * (agent, header objects, parser, streams): more than the Dripline receiver answering it. This one
 * does what wrk and autocannon do, so the senders' cost says little about Dripline's figures.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';

const HEADER_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('0\r\n\r\n');

/** A request prepared once: `POST path HTTP/1.1`, Host, the headers, Content-Length, the body. */
export function preparePost(url: URL, headers: Record<string, string>, body: Buffer): Buffer {
  const lines = [`POST ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
  for (const [name, value] of Object.entries(headers)) {
    lines.push(`${name}: ${value}`);
  }
  lines.push(`content-length: ${String(body.length)}`, '', '');
  return Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), body]);
}

interface Waiting {
  readonly resolve: (status: number) => void;
  readonly reject: (err: Error) => void;
}

/** One keep-alive connection; `send` resolves with the status once the whole response is read. */
export class RawConnection {
  readonly #host: string;
  readonly #port: number;
  #socket: Socket | undefined;
  #buffered: Buffer = Buffer.alloc(0);
  #waiting: Waiting | undefined;

  constructor(url: URL) {
    this.#host = url.hostname;
    this.#port = Number(url.port);
  }

  send(request: Buffer): Promise<number> {
    if (this.#waiting) {
      return Promise.reject(new Error('one request at a time per connection'));
    }
    return new Promise<number>((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#open().write(request);
    });
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #open(): Socket {
    if (this.#socket) {
      return this.#socket;
    }
    const socket = connect({ host: this.#host, port: this.#port, noDelay: true });
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    const lost = (err?: Error): void => {
      // A socket closed after its last response (or replaced since) has nobody waiting on it.
      if (this.#socket !== socket) {
        return;
      }
      this.#socket = undefined;
      this.#buffered = Buffer.alloc(0);
      this.#fail(err ?? new Error('connection closed before the response ended'));
    };
    socket.on('error', lost);
    socket.on('close', () => lost());
    this.#socket = socket;
    return socket;
  }

  #fail(err: Error): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(err);
  }

  #read(chunk: Buffer): void {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    const headerEnd = this.#buffered.indexOf(HEADER_END);
    if (headerEnd < 0) {
      return;
    }
    const head = this.#buffered.subarray(0, headerEnd).toString('latin1');
    const bodyStart = headerEnd + HEADER_END.length;
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let end: number;
    if (length) {
      end = bodyStart + Number(length[1]);
      if (this.#buffered.length < end) {
        return;
      }
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const last = this.#buffered.indexOf(CHUNKED_END, bodyStart);
      if (last < 0) {
        return;
      }
      end = last + CHUNKED_END.length;
    } else {
      this.#fail(new Error(`a response without Content-Length or chunked body (status ${String(status)})`));
      this.close();
      return;
    }
    this.#buffered = this.#buffered.subarray(end);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (/\r\nconnection:\s*close/i.test(head)) {
      this.close();
    }
    waiting?.resolve(status);
  }
}
