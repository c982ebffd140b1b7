/**
 * Lean routes (src/http/lean-route.ts) through real HTTP, in a small express app with the same
 * endpoint also served by a router behind them: the plain form of a request is answered by the
 * lean route (the router never sees it), everything else falls through to the router; the body is
 * read whole under the size limit; the app's `admit` runs first and can refuse; every error is
 * answered through the one error path (src/http/outcomes.ts). A route can decline a request
 * (`accepts`), skip the body (`readsBody: false`) and name headers; an answer without an ETag
 * gets the one express's `res.send` gives the same body.
 */
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import express from 'express';
import type { Request, Response } from 'express';
import { unauthorized } from '../../src/http/auth-errors.ts';
import { leanRoutes } from '../../src/http/lean-route.ts';
import type { LeanRoute } from '../../src/http/lean-route.ts';
import { errorHandler, HttpError, outcome } from '../../src/http/outcomes.ts';

const LIMIT = 1024;

let server: Server;
let base: string;
/** What the lean handler and the app's admit hook saw, per request. */
let handled: { params: readonly string[]; body: string }[];
let admitted: string[];
let refuse: boolean;
const logged: object[] = [];

const echo: LeanRoute = {
  method: 'POST',
  template: '/hooks/:hookId/notify',
  handle(params, _req, body) {
    handled.push({ params, body: body.toString('utf8') });
    const [hookId] = params;
    if (hookId === 'secret') {
      throw unauthorized('Missing or unknown secret', { realm: 'hooks', invalidToken: true });
    }
    if (hookId === 'bug') {
      throw new Error('a bug with PHI in it: Alvarez');
    }
    return Promise.resolve({ status: 200, body: JSON.stringify({ lean: true, hookId, bytes: body.length }) });
  },
};

/** A GET whose stack counterpart ignores bodies: declines `pass`, names an ETag for `tagged`. */
const item: LeanRoute = {
  method: 'GET',
  template: '/items/:itemId',
  readsBody: false,
  accepts: ([itemId]) => itemId !== 'pass',
  handle(params, _req, body) {
    handled.push({ params, body: body.toString('utf8') });
    const [itemId = ''] = params;
    return Promise.resolve({
      status: 200,
      body: JSON.stringify({ item: itemId }),
      ...(itemId === 'tagged'
        ? { headers: { ETag: 'W/"7"', 'Last-Modified': 'Sun, 06 Dec 2026 09:00:00 GMT' } }
        : {}),
    });
  },
};

beforeAll(async () => {
  const app = express();
  const etag = app.get('etag fn') as (body: Buffer) => string;
  app.use(
    leanRoutes({
      routes: [echo, item],
      maxBodyBytes: LIMIT,
      etag,
      log: { error: (obj) => logged.push(obj) },
      admit: (_req: Request, res: Response, template: string) => {
        admitted.push(template);
        res.setHeader('X-Admitted', template);
        if (refuse) {
          return Promise.reject(
            new HttpError(429, outcome('throttled', 'Too many requests'), { 'Retry-After': '7' }),
          );
        }
        return Promise.resolve();
      },
    }),
  );
  // The same endpoint behind the stack: answers what the lean route passes on.
  app.use(express.raw({ type: () => true, limit: LIMIT }));
  app.all('/hooks/:hookId/notify', (req, res) => {
    res.json({ router: true, method: req.method, bytes: Buffer.isBuffer(req.body) ? req.body.length : 0 });
  });
  app.get('/items/:itemId', (req, res) => {
    res.type('application/fhir+json').send(JSON.stringify({ item: req.params.itemId, router: true }));
  });
  app.use(errorHandler({ error: (obj) => logged.push(obj) }));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  handled = [];
  admitted = [];
  refuse = false;
  logged.length = 0;
});

async function post(
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
  method = 'POST',
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${base}${path}`, { method, headers, body });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** POSTs `chunks` with chunked transfer coding (no Content-Length), one write each. */
function postChunked(path: string, chunks: readonly string[]): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method: 'POST' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    for (const chunk of chunks) {
      req.write(chunk);
    }
    req.end();
  });
}

describe('lean routes', () => {
  test('the plain request is answered by the lean route with its params and the raw body; the router never sees it', async () => {
    const res = await post('/hooks/h-1/notify', '{"a":"é"}');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ lean: true, hookId: 'h-1', bytes: 10 });
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    expect(res.headers.get('x-admitted')).toBe('/hooks/:hookId/notify');
    expect(handled).toEqual([{ params: ['h-1'], body: '{"a":"é"}' }]);
    expect(admitted).toEqual(['/hooks/:hookId/notify']);
  });

  test('a body sent in chunks is read whole', async () => {
    const res = await postChunked('/hooks/h-2/notify', ['{"a":', '"b",', '"c":1}']);
    expect(res).toEqual({ status: 200, body: { lean: true, hookId: 'h-2', bytes: 15 } });
    expect(handled[0]?.body).toBe('{"a":"b","c":1}');
  });

  test('a query, percent-encoding, a Content-Encoding, another method or another path go to the router', async () => {
    const cases: [string, Record<string, string>, string, string | Buffer][] = [
      ['/hooks/h-3/notify?x=1', {}, 'POST', '{}'],
      ['/hooks/h%2D3/notify', {}, 'POST', '{}'],
      // The router inflates it (express.raw): 2 bytes.
      ['/hooks/h-3/notify', { 'content-encoding': 'gzip' }, 'POST', gzipSync('{}')],
      ['/hooks/h-3/notify', {}, 'PUT', '{}'],
      ['/hooks/h-3/notify/', {}, 'POST', '{}'],
      ['/HOOKS/h-3/notify', {}, 'POST', '{}'],
    ];
    for (const [path, headers, method, body] of cases) {
      const res = await post(path, body, headers, method);
      expect([path, method, res.status, res.body]).toEqual([
        path,
        method,
        200,
        { router: true, method, bytes: 2 },
      ]);
    }
    expect(handled).toEqual([]);
    expect(admitted).toEqual([]);
  });

  test('Content-Encoding identity is the plain form', async () => {
    const res = await post('/hooks/h-4/notify', '{}', { 'content-encoding': 'Identity' });
    expect(res.body).toEqual({ lean: true, hookId: 'h-4', bytes: 2 });
  });

  test('a body over the limit is a 413 OperationOutcome, by Content-Length or as it streams in, and the route never runs', async () => {
    const big = 'x'.repeat(LIMIT + 1);
    const declared = await post('/hooks/h-5/notify', big);
    expect(declared.status).toBe(413);
    expect(declared.body).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'too-costly' }],
    });
    const streamed = await postChunked('/hooks/h-5/notify', ['x'.repeat(600), 'x'.repeat(600)]);
    expect(streamed.status).toBe(413);
    expect(streamed.body.issue[0].code).toBe('too-costly');
    expect(handled).toEqual([]);
    // The connection is still usable: the next request on the server is answered.
    expect((await post('/hooks/h-6/notify', 'x'.repeat(LIMIT))).status).toBe(200);
  });

  test('the admit hook runs first: its refusal is answered with its status and headers, and the route never runs', async () => {
    refuse = true;
    const res = await post('/hooks/h-7/notify', '{}');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.headers.get('x-admitted')).toBe('/hooks/:hookId/notify');
    expect(res.body.issue[0].code).toBe('throttled');
    expect(handled).toEqual([]);
  });

  test('errors go through the one error path: a 401 with its challenge; a bug is a bare 500, logged by template without the message in the answer', async () => {
    const denied = await post('/hooks/secret/notify', '{}');
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer realm="hooks", error="invalid_token"/);
    expect(denied.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'login' }] });

    const bug = await post('/hooks/bug/notify', '{}');
    expect(bug.status).toBe(500);
    expect(bug.body).toEqual(outcome('exception', 'Internal server error'));
    expect(JSON.stringify(bug.body)).not.toContain('Alvarez');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ path: '/hooks/:hookId/notify' });
  });

  test('a route that declines a request passes it on to the router', async () => {
    const res = await fetch(`${base}/items/pass`);
    expect([res.status, await res.json()]).toEqual([200, { item: 'pass', router: true }]);
    expect(handled).toEqual([]);
    expect(admitted).toEqual([]);
  });

  test('a route that reads no body gets an empty one, whatever its size (no 413)', async () => {
    // fetch sends no body with GET: a raw request does.
    const raw = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        `${base}/items/i-2`,
        { method: 'GET', headers: { 'content-length': LIMIT * 4 } },
        (r) => {
          let text = '';
          r.setEncoding('utf8');
          r.on('data', (chunk: string) => (text += chunk));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end('x'.repeat(LIMIT * 4));
    });
    expect(raw).toEqual({ status: 200, body: JSON.stringify({ item: 'i-2' }) });
    expect(handled).toContainEqual({ params: ['i-2'], body: '' });
  });

  test("an answer's headers are sent; without an ETag it gets the one express's res.send gives the same body", async () => {
    const tagged = await fetch(`${base}/items/tagged`);
    expect(tagged.headers.get('etag')).toBe('W/"7"');
    expect(tagged.headers.get('last-modified')).toBe('Sun, 06 Dec 2026 09:00:00 GMT');

    const lean = await fetch(`${base}/items/same`);
    const leanBody = await lean.text();
    // The router answers another body for the same path; express's ETag of the lean body:
    const expected = (express().get('etag fn') as (body: Buffer) => string)(Buffer.from(leanBody));
    expect(lean.headers.get('etag')).toBe(expected);
    expect(lean.headers.get('content-length')).toBe(String(Buffer.byteLength(leanBody)));

    // An error answer too (express's error handler sends its OperationOutcome with res.send).
    const denied = await post('/hooks/secret/notify', '{}');
    expect(denied.headers.get('etag')).toBe(
      (express().get('etag fn') as (body: Buffer) => string)(Buffer.from(JSON.stringify(denied.body))),
    );
  });
});
