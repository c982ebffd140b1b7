/**
 * test/support/fetch-like.ts sends what fetch sends and reads what fetch reads: the same requests
 * through both to a server that records what arrives (method, path, headers, body) and answers
 * redirects, a BOM and a non-ASCII body.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { sendAsFetch } from './fetch-like.ts';
import type { FetchLikeRequest } from './fetch-like.ts';

interface Arrival {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

const arrivals: Arrival[] = [];
const agent = new Agent({ keepAlive: true });
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      // Not what differs between two connections of one client.
      const { host: _host, connection: _connection, ...headers } = req.headers;
      arrivals.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers,
        body: Buffer.concat(chunks).toString('latin1'),
      });
      const redirect = /^\/redirect\/(\d+)/.exec(req.url ?? '');
      if (redirect) {
        res.writeHead(Number(redirect[1]), { location: '../landed?from=redirect' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-seen': req.method });
      res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('é ok \u00ff', 'utf8')]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  agent.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const cases: [string, string, FetchLikeRequest][] = [
  ['a GET', '/a/b/../c%2F%zz?q=1 2&r=é#fragment', { method: 'GET', headers: {} }],
  ['a string body without a type', '/p', { method: 'POST', headers: {}, body: 'é{' }],
  ['an empty string body', '/p', { method: 'PUT', headers: {}, body: '' }],
  ['a bytes body', '/p', { method: 'PATCH', headers: {}, body: Buffer.from([0xff, 0xfe, 0x7b]) }],
  [
    'own headers',
    '/p',
    {
      method: 'DELETE',
      headers: { authorization: 'Bearer x', 'content-type': 'application/fhir+json', accept: 'text/html' },
      body: '{}',
    },
  ],
  [
    'a 303 after a POST',
    '/redirect/303/x',
    { method: 'POST', headers: { 'content-type': 'a/b' }, body: 'x' },
  ],
  ['a 302 after a POST', '/redirect/302/x', { method: 'POST', headers: {}, body: 'x' }],
  ['a 302 after a PUT', '/redirect/302/x', { method: 'PUT', headers: {}, body: 'x' }],
  ['a 307 after a POST', '/redirect/307/x', { method: 'POST', headers: {}, body: 'x' }],
];

test.each(cases)('%s: the same arrives, the same is read', async (_name, path, request) => {
  arrivals.length = 0;
  const response = await fetch(`${base}${path}`, {
    method: request.method,
    headers: request.headers,
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  const byFetch = {
    status: response.status,
    seen: response.headers.get('x-seen'),
    text: await response.text(),
    arrived: arrivals.splice(0),
  };
  const answer = await sendAsFetch(agent, `${base}${path}`, request);
  const byHelper = {
    status: answer.status,
    seen: answer.headers['x-seen'],
    text: answer.text,
    arrived: arrivals.splice(0),
  };
  expect(byHelper).toEqual(byFetch);
  expect(byFetch.arrived.length).toBeGreaterThan(0);
});
