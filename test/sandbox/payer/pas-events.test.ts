/**
 * The sandbox payer's `Subscription/{id}/$events` (Subscriptions Backport IG 1.1, OperationDefinition
 * backport-subscription-events): the events it counted for a subscription — sent, dropped, or
 * counted while the subscription was in error — answered again as a notification Bundle of type
 * `query-event`, over real HTTP, with the strictness of a real server: the caller's own
 * subscriptions only, 400 on bad parameters, and a refusal when the payer is told to have none.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Bundle, Parameters } from '@medplum/fhirtypes';
import { buildPasRequest } from '../../../src/coverage/pas/request-bundle.ts';
import { readPasResponse } from '../../../src/coverage/pas/response.ts';
import { parsePasNotification } from '../../../src/coverage/pas/subscription.ts';
import { PAS_BACKPORT, PAS_TOPIC } from '../../../src/contract/pas.ts';
import { startSandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import { waitFor } from '../../support/wait.ts';
import { requestInput } from '../../coverage/pas/fixtures.ts';
import { call, tokenFor } from './helpers.ts';

const SCOPE = 'system/Claim.cr system/ClaimResponse.rs system/Subscription.cruds';

let payer: SandboxPayer;
let token: string;
let hook: Server;
let hookUrl: string;
/** The event notifications the hook received: event number → the request trace its answer names. */
const delivered = new Map<number, string>();

beforeAll(async () => {
  payer = await startSandboxPayer({ pas: { reviewDelayMs: 60_000, members: ['W123456789'] } });
  token = await tokenFor(payer, SCOPE);
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const parsed = parsePasNotification(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      if (parsed.ok && parsed.type === 'event-notification') {
        for (const e of parsed.events) {
          delivered.set(e.number ?? 0, traceOf(e.resource as Bundle));
        }
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/notify`;
});

afterAll(async () => {
  await payer.stop();
  await new Promise<void>((resolve) => hook.close(() => resolve()));
});

let sequence = 0;

/** A request the payer pends (J1745), then decides at finishReviews: its trace number. */
async function pendedThenDecided(): Promise<string> {
  sequence += 1;
  const bundle = buildPasRequest(
    requestInput({
      claimId: `pas-ev${sequence}`,
      transactionId: `tx-ev-${sequence}`,
      trace: `TRNEV${sequence}`,
      services: [
        {
          sequence: 1,
          code: 'J1745',
          codeSystem: 'hcpcs',
          units: 1200,
          start: '2026-12-07',
          end: '2027-06-06',
          placeOfService: '11',
          serviceType: '1',
        },
      ],
    }),
  );
  const answer = await call(payer.pasFhirBaseUrl, token, 'Claim/$submit', { method: 'POST', body: bundle });
  expect(readPasResponse(answer.body).status).toBe('pended');
  await payer.pas.finishReviews();
  return `TRNEV${sequence}`;
}

/** The request trace a PAS Response Bundle answers. */
function traceOf(bundle: Bundle | undefined): string {
  return readPasResponse(bundle).request?.identifier?.value ?? '?';
}

async function subscribed(path: string): Promise<string> {
  const created = await call(payer.pasFhirBaseUrl, token, 'Subscription', {
    method: 'POST',
    body: {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'Dripline prior authorization results',
      criteria: PAS_TOPIC,
      _criteria: {
        extension: [{ url: PAS_BACKPORT.filterCriteria, valueString: 'org-identifier=1234567893' }],
      },
      channel: {
        type: 'rest-hook',
        endpoint: `${hookUrl}/${path}`,
        payload: 'application/fhir+json',
        _payload: { extension: [{ url: PAS_BACKPORT.payloadContent, valueCode: 'full-resource' }] },
        header: ['Authorization: Bearer hook-secret-ev'],
      },
    },
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  await waitFor(
    'the subscription active',
    async () => (await call(payer.pasFhirBaseUrl, token, `Subscription/${id}`)).body.status === 'active',
  );
  return id;
}

/** What an `$events` answer holds: its notification type, count, and each event's number and trace. */
function readEvents(body: unknown): { type: string; count?: number; events: string[] } {
  const parsed = parsePasNotification(body);
  if (!parsed.ok) {
    throw new Error(parsed.reason);
  }
  return {
    type: parsed.type,
    ...(parsed.eventsSinceStart !== undefined ? { count: parsed.eventsSinceStart } : {}),
    events: parsed.events.map((e) => `${e.number ?? '?'} ${traceOf(e.resource as Bundle)}`),
  };
}

test('the CapabilityStatement offers $events on Subscription', async () => {
  const metadata = await call(payer.pasFhirBaseUrl, undefined, 'metadata');
  const subscription = (metadata.body.rest[0].resource as { type: string; operation?: object[] }[]).find(
    (r) => r.type === 'Subscription',
  );
  expect(subscription?.operation).toContainEqual({
    name: 'events',
    definition:
      'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-events',
  });
});

test('$events answers the counted events of the asked range, a dropped one included, as a query-event notification', async () => {
  const id = await subscribed('answered');
  const events = (query: string, t = token) =>
    call(payer.pasFhirBaseUrl, t, `Subscription/${id}/$events${query}`);
  expect(payer.pas.dropNotifications(id)).toBe(true);
  const first = await pendedThenDecided();
  const second = await pendedThenDecided();
  await waitFor('the second decision delivered', () => delivered.get(2) === second);
  expect(delivered.has(1)).toBe(false);

  const one = await events('?eventsSinceNumber=1&eventsUntilNumber=1&content=full-resource');
  expect(one.status).toBe(200);
  expect(one.body).toMatchObject({ resourceType: 'Bundle', type: 'history' });
  const status = (one.body as Bundle).entry?.[0]?.resource as Parameters;
  expect(status.parameter?.find((p) => p.name === 'subscription')?.valueReference?.reference).toBe(
    `${payer.pasFhirBaseUrl}/Subscription/${id}`,
  );
  expect(readEvents(one.body)).toEqual({ type: 'query-event', count: 2, events: [`1 ${first}`] });
  // No bounds: every event kept; a bound alone: from it, or through it.
  expect(readEvents((await events('')).body).events).toEqual([`1 ${first}`, `2 ${second}`]);
  expect(readEvents((await events('?eventsSinceNumber=2')).body).events).toEqual([`2 ${second}`]);
  expect(readEvents((await events('?eventsUntilNumber=1')).body).events).toEqual([`1 ${first}`]);
  // Past the last event: none (not an error).
  expect(readEvents((await events('?eventsSinceNumber=3')).body).events).toEqual([]);
  // A payer keeping a shorter history answers only its latest events.
  payer.setBehaviour({ pasEventsAnswered: 1 });
  expect(readEvents((await events('')).body).events).toEqual([`2 ${second}`]);
  payer.setBehaviour({});

  // Counted while in error (never sent): kept all the same.
  expect(payer.pas.failSubscription(id, 'error')).toBe(true);
  const third = await pendedThenDecided();
  expect(readEvents((await events('?eventsSinceNumber=3&eventsUntilNumber=3')).body)).toEqual({
    type: 'query-event',
    count: 3,
    events: [`3 ${third}`],
  });
  expect(delivered.has(3)).toBe(false);
});

test('$events is strict: bad parameters 400, another client’s or an unknown subscription 404, a refusal as told', async () => {
  const id = await subscribed('strict');
  const events = (query: string, t = token, sub = id) =>
    call(payer.pasFhirBaseUrl, t, `Subscription/${sub}/$events${query}`);
  for (const query of [
    '?eventsSinceNumber=3&eventsUntilNumber=2',
    '?eventsSinceNumber=0',
    '?eventsSinceNumber=abc',
    '?eventsUntilNumber=1.5',
    '?eventsSinceNumber=1&eventsSinceNumber=2',
    '?since=1',
    '?content=everything',
  ]) {
    const refused = await events(query);
    expect([query, refused.status]).toEqual([query, 400]);
    expect(refused.body.resourceType).toBe('OperationOutcome');
  }
  expect((await events('?content=id-only')).status).toBe(200);

  const other = await tokenFor(payer, SCOPE);
  const theirs = await events('', other);
  expect(theirs.status).toBe(404);
  expect(theirs.body.resourceType).toBe('OperationOutcome');
  expect((await events('', token, 'no-such-subscription')).status).toBe(404);

  payer.setBehaviour({ refusePasSubscriptionEvents: 501 });
  const refused = await events('');
  expect(refused.status).toBe(501);
  expect(refused.body.issue[0].code).toBe('not-supported');
  payer.setBehaviour({});
  expect(payer.pas.forgetSubscription(id)).toBe(true);
  expect((await events('')).status).toBe(404);
});
