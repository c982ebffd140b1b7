/**
 * A request sent through node:http the way Node 24's fetch (undici) sends it, for tests that send
 * thousands of requests: fetch's streams, header lists and Request/Response objects cost several
 * times node:http's CPU per request (a quarter of test/http/fuzz.test.ts's time). What fetch does
 * that a server can see is done here too: its default headers, the URL resolved the WHATWG way
 * (dot segments, percent-encoding, no fragment), text/plain;charset=UTF-8 for a string body sent
 * without a content type, the body's length, redirects followed (a 303, or a 301/302 after a
 * POST, as a GET without the body and its content type), the answer decoded as UTF-8 as text()
 * does.
 */
import { request as httpRequest } from 'node:http';
import type { Agent, IncomingHttpHeaders } from 'node:http';

/** What fetch adds to a request's own headers (read off the wire from Node 24.21's fetch). */
const FETCH_HEADERS: Readonly<Record<string, string>> = {
  accept: '*/*',
  'accept-language': '*',
  'sec-fetch-mode': 'cors',
  'user-agent': 'node',
  'accept-encoding': 'gzip, deflate',
};

/** fetch's limit on redirects followed. */
const MAX_REDIRECTS = 20;

export interface FetchLikeRequest {
  readonly method: string;
  /** Lower-case names, as the request's own headers. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

export interface FetchLikeAnswer {
  readonly status: number;
  /** Lower-case names, as node:http gives them. */
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** Sends `request` to `address` (absolute; the path may hold anything fetch accepts) over `agent`. */
export async function sendAsFetch(
  agent: Agent,
  address: string,
  request: FetchLikeRequest,
): Promise<FetchLikeAnswer> {
  let url = new URL(address);
  let method = request.method;
  let body = request.body;
  const headers: Record<string, string> = { ...FETCH_HEADERS, ...request.headers };
  for (let redirects = 0; ; redirects++) {
    const answer = await sendOnce(agent, url, method, headers, body);
    const location = answer.headers['location'];
    if (
      ![301, 302, 303, 307, 308].includes(answer.status) ||
      location === undefined ||
      redirects === MAX_REDIRECTS
    ) {
      return answer;
    }
    url = new URL(location, url);
    if (answer.status === 303 ? method !== 'HEAD' : answer.status < 303 && method === 'POST') {
      method = 'GET';
      body = undefined;
      delete headers['content-type'];
    }
  }
}

function sendOnce(
  agent: Agent,
  url: URL,
  method: string,
  own: Record<string, string>,
  body: string | Buffer | undefined,
): Promise<FetchLikeAnswer> {
  const headers = { ...own };
  if (body !== undefined) {
    if (typeof body === 'string' && headers['content-type'] === undefined) {
      headers['content-type'] = 'text/plain;charset=UTF-8';
    }
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { agent, host: url.hostname, port: url.port, method, path: `${url.pathname}${url.search}`, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: new TextDecoder().decode(Buffer.concat(chunks)),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
