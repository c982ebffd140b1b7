/**
 * bench:ingest's lean load-generator client (scripts/bench/raw-http.ts) against node:http servers:
 * its figures are only as good as its reading of where each answer ends.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from '@jest/globals';
import { preparePost, RawConnection } from '../../scripts/bench/raw-http.ts';

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(
  handler: (req: IncomingMessage, body: string, res: ServerResponse) => void,
): Promise<URL> {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return new URL(`http://127.0.0.1:${String((server.address() as AddressInfo).port)}/notify?x=1`);
}

describe('the bench’s raw HTTP/1.1 client', () => {
  test('sends the prepared request and reads answers one after another on one connection', async () => {
    const seen: string[] = [];
    const sockets = new Set<unknown>();
    const url = await serve((req, body, res) => {
      sockets.add(req.socket);
      seen.push(`${req.method ?? ''} ${req.url ?? ''} ${req.headers['authorization'] ?? ''} ${body}`);
      res.writeHead(seen.length === 2 ? 503 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ n: seen.length, pad: 'x'.repeat(70_000) }));
    });
    const connection = new RawConnection(url);
    const request = preparePost(url, { authorization: 'Bearer s3cret' }, Buffer.from('{"a":"é"}'));
    expect(await connection.send(request)).toBe(200);
    expect(await connection.send(request)).toBe(503);
    expect(await connection.send(request)).toBe(200);
    connection.close();
    expect(seen).toEqual(Array(3).fill('POST /notify?x=1 Bearer s3cret {"a":"é"}'));
    expect(sockets.size).toBe(1);
  });

  test('reads a chunked answer to its end', async () => {
    const url = await serve((_req, _body, res) => {
      res.writeHead(201);
      res.write('first part;');
      setTimeout(() => res.end('second part'), 20);
    });
    const connection = new RawConnection(url);
    const request = preparePost(url, {}, Buffer.from('{}'));
    expect(await connection.send(request)).toBe(201);
    expect(await connection.send(request)).toBe(201);
    connection.close();
  });

  test('opens a new connection after the server closes one, and fails a request whose answer was cut', async () => {
    let count = 0;
    const url = await serve((req, _body, res) => {
      count += 1;
      if (count === 2) {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { connection: 'close', 'content-length': '2' });
      res.end('ok');
    });
    const connection = new RawConnection(url);
    const request = preparePost(url, {}, Buffer.from('{}'));
    expect(await connection.send(request)).toBe(200);
    await expect(connection.send(request)).rejects.toThrow(/closed|reset/);
    expect(await connection.send(request)).toBe(200);
    connection.close();
  });
});
