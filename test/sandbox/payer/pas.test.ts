/**
 * The sandbox payer speaks Da Vinci PAS 2.2.1 over HTTP with its own auth: `$submit` decided under
 * its policy (approve, approve fewer units, deny, pend then decide after its review delay and notify
 * the subscription, ask for more information), Claim Updates and cancels, `$inquire`, PAS
 * Subscriptions with Backport handshakes and notifications. Its answers conform to the PAS response
 * profiles and have the structure of the IG's response examples.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Bundle, Claim, Parameters } from '@medplum/fhirtypes';
import { buildPasInquiry } from '../../../src/coverage/pas/inquiry.ts';
import { validatePasResponseBundle } from '../../../src/coverage/pas/profiles.ts';
import { buildPasRequest, buildPasUpdate } from '../../../src/coverage/pas/request-bundle.ts';
import type { RequestedService } from '../../../src/coverage/pas/request-bundle.ts';
import { readPasInquiry, readPasResponse } from '../../../src/coverage/pas/response.ts';
import { PAS_BACKPORT, PAS_TOPIC } from '../../../src/contract/pas.ts';
import { startSandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import { describeShared } from '../../support/shared.ts';
import { waitFor } from '../../support/wait.ts';
import { requestInput } from '../../coverage/pas/fixtures.ts';
import { call, tokenFor } from './helpers.ts';

const SCOPE = 'system/Claim.cr system/ClaimResponse.rs system/Subscription.cruds';

let payer: SandboxPayer;
let token: string;
let hook: Server;
let hookUrl: string;
const received: {
  url: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  body: Bundle;
}[] = [];
let sequence = 0;

beforeAll(async () => {
  payer = await startSandboxPayer({ pas: { reviewDelayMs: 300, members: ['W123456789'] } });
  token = await tokenFor(payer, SCOPE);
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        url: req.url,
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Bundle,
      });
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

/** A request for one drug, with identifiers of its own. */
function request(code: string, units: number): Bundle {
  sequence += 1;
  const services: RequestedService[] = [
    {
      sequence: 1,
      code,
      codeSystem: 'hcpcs',
      units,
      start: '2026-12-07',
      end: '2027-06-06',
      placeOfService: '11',
      serviceType: '1',
    },
  ];
  return buildPasRequest(
    requestInput({
      claimId: `pas-t${sequence}`,
      transactionId: `tx-${sequence}`,
      trace: `TRN${sequence}`,
      services,
    }),
  );
}

const submit = (bundle: unknown): Promise<{ status: number; headers: Headers; body: any }> =>
  call(payer.pasFhirBaseUrl, token, 'Claim/$submit', { method: 'POST', body: bundle });

const subscription = (filter: string): object => ({
  resourceType: 'Subscription',
  status: 'requested',
  reason: 'Dripline prior authorization results',
  criteria: PAS_TOPIC,
  _criteria: { extension: [{ url: PAS_BACKPORT.filterCriteria, valueString: filter }] },
  channel: {
    type: 'rest-hook',
    endpoint: hookUrl,
    payload: 'application/fhir+json',
    _payload: { extension: [{ url: PAS_BACKPORT.payloadContent, valueCode: 'full-resource' }] },
    header: ['Authorization: Bearer hook-secret-1'],
  },
});

describe('the PAS endpoint’s CapabilityStatement', () => {
  test('instantiates the PAS Intermediary capabilities (the server side of a PAS exchange)', async () => {
    const metadata = await call(payer.pasFhirBaseUrl, undefined, 'metadata');
    expect(metadata.status).toBe(200);
    expect(metadata.body.instantiates).toEqual([
      'http://hl7.org/fhir/us/davinci-pas/CapabilityStatement/IntermediaryCapabilities',
    ]);
  });
});

describe('$submit decisions under the payer policy', () => {
  test('approve: A1 with a certification number, the requested period and units; the answer conforms', async () => {
    const res = await submit(request('J3380', 6));
    expect(res.status).toBe(200);
    expect(validatePasResponseBundle(res.body)).toBeUndefined();
    const reading = readPasResponse(res.body);
    expect(reading.status).toBe('certified');
    expect(reading.items[0]).toMatchObject({
      reviewCode: 'A1',
      number: expect.stringMatching(/^AUTH\d{6}$/),
      period: { start: '2026-12-07', end: '2027-06-06' },
      authorized: { code: 'J3380', units: 6 },
    });
    // spec-33: the echoed parties keep the request's fullUrls; the answer names the Claim it answers.
    expect(reading.request).toEqual({
      reference: `http://dripline.test/fhir/Claim/pas-t${sequence}`,
      identifier: { system: 'urn:trnorg:1234567893', value: `TRN${sequence}` },
    });
    expect(res.body.entry.slice(1).map((e: { fullUrl: string }) => e.fullUrl)).toContain(
      'http://dripline.test/fhir/Patient/pat-1',
    );
  });

  test('approve fewer units: A6 on the item, the addItem certifies 1,500 units', async () => {
    const res = await submit(request('J1439', 2250));
    const reading = readPasResponse(res.body);
    expect(reading.nonconformance).toBeUndefined();
    expect(reading.status).toBe('modified');
    expect(reading.items[0]).toMatchObject({
      reviewCode: 'A6',
      authorized: { code: 'J1439', units: 1500 },
      number: expect.stringMatching(/^AUTH/),
    });
  });

  test('deny: A3 with the specific reason as a note', async () => {
    const reading = readPasResponse((await submit(request('J9312', 4))).body);
    expect(reading.status).toBe('denied');
    expect(reading.items[0]?.notes).toEqual([
      'Not medically necessary: no documented trial of a conventional DMARD',
    ]);
    expect(reading.nonconformance).toBeUndefined();
  });

  test('more information: A4 and a CommunicationRequest naming what is needed', async () => {
    const reading = readPasResponse((await submit(request('J1459', 90))).body);
    expect(reading.status).toBe('pended');
    expect(reading.nonconformance).toBeUndefined();
    expect(reading.moreInformation.map((r) => r.resourceType)).toEqual(['CommunicationRequest']);
  });

  test('a member the payer does not know: the PAS error bundle (X12 901 code 75 at the Coverage)', async () => {
    const b = request('J3380', 6);
    (b.entry![3]!.resource as { identifier: { value: string }[] }).identifier[0]!.value = 'Z999';
    const res = await submit(b);
    expect(res.status).toBe(200);
    const reading = readPasResponse(res.body);
    expect(reading.status).toBe('error');
    expect(reading.errors).toEqual([
      { code: '75', path: 'Bundle.entry[3].resource.identifier', followup: 'C' },
    ]);
    expect(reading.nonconformance).toBeUndefined();
  });

  test('a Coverage without the member id is not a PAS request: 400', async () => {
    const b = request('J3380', 6);
    delete (b.entry![3]!.resource as { identifier?: unknown }).identifier;
    const res = await submit(b);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/pas-member-id/);
  });
});

describe('pended, reviewed, notified', () => {
  test('a subscription: handshake, then the pended decision arrives as a Backport notification with the full Response Bundle', async () => {
    const created = await call(payer.pasFhirBaseUrl, token, 'Subscription', {
      method: 'POST',
      body: subscription('org-identifier=1234567893'),
    });
    expect(created.status).toBe(201);
    expect(created.body.channel.header).toBeUndefined();
    await waitFor('the handshake', () =>
      received.find((r) => JSON.stringify(r.body).includes('"handshake"')),
    );
    await waitFor(
      'the subscription active',
      async () =>
        (await call(payer.pasFhirBaseUrl, token, `Subscription/${created.body.id}`)).body.status === 'active',
    );

    const pended = readPasResponse((await submit(request('J1745', 1200))).body);
    expect(pended.status).toBe('pended');
    expect(pended.items[0]?.payerReference).toMatch(/^PEND\d{6}$/);

    const trace = `TRN${sequence}`;
    const notification = await waitFor(
      'the notification',
      () =>
        received.find(
          (r) =>
            JSON.stringify(r.body).includes('"event-notification"') &&
            JSON.stringify(r.body).includes(`"${trace}"`),
        ),
      10_000,
    );
    expect(notification.headers.authorization).toBe('Bearer hook-secret-1');
    const { body } = notification;
    expect(body.type).toBe('history');
    const status = body.entry![0]!.resource as Parameters;
    expect(status.parameter?.find((p) => p.name === 'topic')?.valueCanonical).toBe(PAS_TOPIC);
    const event = status.parameter?.find((p) => p.name === 'notification-event');
    const focus = event?.part?.find((p) => p.name === 'focus')?.valueReference?.reference;
    const nested = body.entry!.find((e) => e.fullUrl === focus)?.resource as Bundle;
    const final = readPasResponse(nested);
    expect(final.nonconformance).toBeUndefined();
    expect(final.status).toBe('certified');
    expect(final.request?.identifier?.value).toBe(trace);
  });

  test('subscriptions: the IG’s orgIdentifier spelling is accepted; no filter, or another topic, is refused', async () => {
    expect(
      (
        await call(payer.pasFhirBaseUrl, token, 'Subscription', {
          method: 'POST',
          body: subscription('orgIdentifier=999'),
        })
      ).status,
    ).toBe(201);
    const noFilter = subscription('org-identifier=1') as { _criteria?: unknown };
    delete noFilter._criteria;
    const refused = await call(payer.pasFhirBaseUrl, token, 'Subscription', {
      method: 'POST',
      body: noFilter,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.resourceType).toBe('OperationOutcome');
    const other = {
      ...subscription('org-identifier=1'),
      criteria: 'http://example.org/SubscriptionTopic/other',
    };
    expect(
      (await call(payer.pasFhirBaseUrl, token, 'Subscription', { method: 'POST', body: other })).status,
    ).toBe(400);
  });
});

describe('heartbeats and errors (Backport IG "Handling Errors")', () => {
  test('a subscription that asked for heartbeats hears its status; in error a decision is counted, not sent; an update makes it active again', async () => {
    const base = subscription('org-identifier=1234567893') as { channel: object };
    const body = {
      ...base,
      channel: {
        ...base.channel,
        endpoint: `${hookUrl}/beats`,
        extension: [{ url: PAS_BACKPORT.heartbeatPeriod, valueUnsignedInt: 3600 }],
      },
    };
    const created = await call(payer.pasFhirBaseUrl, token, 'Subscription', { method: 'POST', body });
    expect(created.status).toBe(201);
    const path = `Subscription/${created.body.id as string}`;
    const statusNow = async (): Promise<string> =>
      (await call(payer.pasFhirBaseUrl, token, path)).body.status;
    await waitFor('the subscription active', async () => (await statusNow()) === 'active');
    /** What each notification at this endpoint said: type, status, events since the start. */
    const said = (): string[] =>
      received
        .filter((r) => r.url === '/notify/beats')
        .map((r) => {
          const p = (r.body.entry?.[0]?.resource as Parameters).parameter ?? [];
          const v = (name: string): string | undefined => {
            const x = p.find((q) => q.name === name);
            return x?.valueCode ?? x?.valueString;
          };
          return `${v('type') ?? ''} ${v('status') ?? ''} ${v('events-since-subscription-start') ?? ''}`;
        });
    payer.pas.heartbeatNow();
    await waitFor('a heartbeat saying active', () => said().includes('heartbeat active 0'));

    expect(payer.pas.failSubscription(created.body.id, 'error')).toBe(true);
    await waitFor('a heartbeat saying error', () => said().includes('heartbeat error 0'));
    expect(await statusNow()).toBe('error');
    const inError = await call(payer.pasFhirBaseUrl, token, 'Subscription?status=error');
    expect((inError.body as Bundle).entry?.map((e) => e.resource?.id)).toContain(created.body.id);

    // A decision while in error: counted (the next heartbeat says 1), never sent.
    expect(readPasResponse((await submit(request('J1745', 1200))).body).status).toBe('pended');
    await payer.pas.finishReviews();
    payer.pas.heartbeatNow();
    await waitFor('a heartbeat counting the event', () => said().includes('heartbeat error 1'));
    expect(said().filter((x) => x.startsWith('event-notification'))).toEqual([]);

    // The client's reactivation: an update makes it requested, handshakes, and it is active again.
    expect((await call(payer.pasFhirBaseUrl, token, path, { method: 'PUT', body })).status).toBe(200);
    await waitFor('active again', async () => (await statusNow()) === 'active');
    payer.pas.heartbeatNow();
    await waitFor('a heartbeat saying active, the count kept', () => said().includes('heartbeat active 1'));
    expect(said().filter((x) => x.startsWith('handshake'))).toEqual([
      'handshake requested 0',
      'handshake requested 1',
    ]);
    expect((await call(payer.pasFhirBaseUrl, token, path, { method: 'DELETE' })).status).toBe(204);
  });
});

describe('$status and a payer whose heartbeats stopped (Backport IG "Broken Communication")', () => {
  test('$status answers a searchset of the subscription’s status and event count, to its own client only; heartbeats can stop; a refusal is a refusal', async () => {
    const base = subscription('org-identifier=1234567893') as { channel: object };
    const body = {
      ...base,
      channel: {
        ...base.channel,
        endpoint: `${hookUrl}/silent`,
        extension: [{ url: PAS_BACKPORT.heartbeatPeriod, valueUnsignedInt: 3600 }],
      },
    };
    const created = await call(payer.pasFhirBaseUrl, token, 'Subscription', { method: 'POST', body });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const status = (t = token) => call(payer.pasFhirBaseUrl, t, `Subscription/${id}/$status`);
    /** The one status in a $status answer: status, type, events since the start. */
    const read = (answer: { body: Bundle }): string => {
      const p = (answer.body.entry?.[0]?.resource as Parameters).parameter ?? [];
      const v = (name: string): string | undefined => {
        const x = p.find((q) => q.name === name);
        return x?.valueCode ?? x?.valueString ?? x?.valueReference?.reference;
      };
      return `${v('status') ?? ''} ${v('type') ?? ''} ${v('events-since-subscription-start') ?? ''} ${v('subscription') ?? ''}`;
    };
    await waitFor('the subscription active', async () => read(await status()).startsWith('active '));
    const first = await status();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 1 });
    expect(read(first)).toBe(`active query-status 0 ${payer.pasFhirBaseUrl}/Subscription/${id}`);

    // Heartbeats stop: none is sent, not even on demand; events still are, and $status counts them.
    const beats = (): number =>
      received
        .filter((r) => r.url === '/notify/silent')
        .filter((r) => {
          const p = (r.body.entry?.[0]?.resource as Parameters).parameter ?? [];
          return p.some((q) => q.name === 'type' && q.valueCode === 'heartbeat');
        }).length;
    payer.setBehaviour({ silencePasHeartbeats: true });
    payer.pas.heartbeatNow();
    expect(readPasResponse((await submit(request('J1745', 1200))).body).status).toBe('pended');
    await payer.pas.finishReviews();
    await waitFor('the decision counted', async () =>
      read(await status()).startsWith('active query-status 1'),
    );
    expect(beats()).toBe(0);
    payer.setBehaviour({});
    payer.pas.heartbeatNow();
    await waitFor('a heartbeat once they resume', () => beats() === 1);

    // Another client's subscription is not found; one the payer no longer holds neither.
    const other = await tokenFor(payer, SCOPE);
    expect((await status(other)).status).toBe(404);
    payer.setBehaviour({ refusePasSubscriptionStatus: 403 });
    const refused = await status();
    expect(refused.status).toBe(403);
    expect(refused.body.resourceType).toBe('OperationOutcome');
    payer.setBehaviour({});
    expect(payer.pas.forgetSubscription(id)).toBe(true);
    expect((await status()).status).toBe(404);
    expect((await call(payer.pasFhirBaseUrl, token, `Subscription/${id}`)).status).toBe(404);
  });
});

describe('a notification lost for good (Backport IG "Missing Event")', () => {
  test('a dropped event is counted and never sent: the next is numbered past it, and $status counts both', async () => {
    const base = subscription('org-identifier=1234567893') as { channel: object };
    const body = { ...base, channel: { ...base.channel, endpoint: `${hookUrl}/dropped` } };
    const created = await call(payer.pasFhirBaseUrl, token, 'Subscription', { method: 'POST', body });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const path = `Subscription/${id}`;
    await waitFor(
      'the subscription active',
      async () => (await call(payer.pasFhirBaseUrl, token, path)).body.status === 'active',
    );
    /** The event notifications at this endpoint: their event numbers and events since the start. */
    const events = (): string[] =>
      received
        .filter((r) => r.url === '/notify/dropped')
        .map((r) => (r.body.entry?.[0]?.resource as Parameters).parameter ?? [])
        .filter((p) => p.some((q) => q.name === 'type' && q.valueCode === 'event-notification'))
        .map((p) => {
          const event = p.find((q) => q.name === 'notification-event');
          const number = event?.part?.find((q) => q.name === 'event-number')?.valueString;
          const count = p.find((q) => q.name === 'events-since-subscription-start')?.valueString;
          return `${number ?? ''} of ${count ?? ''}`;
        });
    expect(payer.pas.dropNotifications('no-such-subscription')).toBe(false);
    expect(payer.pas.dropNotifications(id)).toBe(true);

    expect(readPasResponse((await submit(request('J1745', 1200))).body).status).toBe('pended');
    await payer.pas.finishReviews();
    expect(readPasResponse((await submit(request('J1745', 1200))).body).status).toBe('pended');
    await payer.pas.finishReviews();
    await waitFor('the second decision notified', () => events().length > 0);
    expect(events()).toEqual(['2 of 2']);
    const status = await call(payer.pasFhirBaseUrl, token, `${path}/$status`);
    const parameters = (status.body.entry?.[0]?.resource as Parameters).parameter ?? [];
    expect(parameters.find((q) => q.name === 'events-since-subscription-start')?.valueString).toBe('2');
    // Lost, not held: nothing brings it late.
    expect(payer.pas.releaseNotifications()).toBe(0);
    expect((await call(payer.pasFhirBaseUrl, token, path, { method: 'DELETE' })).status).toBe(204);
  });
});

describe("a client's subscriptions are its own", () => {
  test('search, read, update and delete find only the calling client’s subscriptions', async () => {
    const other = await tokenFor(payer, SCOPE);
    const endpoint = `${hookUrl}/scoped`;
    const at = (filter: string): object => ({
      ...subscription(filter),
      channel: { ...(subscription(filter) as { channel: object }).channel, endpoint },
    });
    const mine = await call(payer.pasFhirBaseUrl, token, 'Subscription', {
      method: 'POST',
      body: at('org-identifier=1'),
    });
    const theirs = await call(payer.pasFhirBaseUrl, other, 'Subscription', {
      method: 'POST',
      body: at('org-identifier=2'),
    });
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    const search = `Subscription?url=${encodeURIComponent(endpoint)}`;
    const found = async (t: string): Promise<string[]> =>
      ((await call(payer.pasFhirBaseUrl, t, search)).body as Bundle).entry?.map(
        (e) => e.resource?.id ?? '',
      ) ?? [];
    // The same endpoint, searched by each: each finds its own only.
    expect(await found(token)).toEqual([mine.body.id]);
    expect(await found(other)).toEqual([theirs.body.id]);
    // Another client's subscription is not found to read, update or delete, and stays.
    const path = `Subscription/${mine.body.id as string}`;
    expect((await call(payer.pasFhirBaseUrl, other, path)).status).toBe(404);
    expect(
      (await call(payer.pasFhirBaseUrl, other, path, { method: 'PUT', body: at('org-identifier=2') })).status,
    ).toBe(404);
    expect((await call(payer.pasFhirBaseUrl, other, path, { method: 'DELETE' })).status).toBe(404);
    expect((await call(payer.pasFhirBaseUrl, token, path)).body.channel.endpoint).toBe(endpoint);
    expect((await call(payer.pasFhirBaseUrl, token, path, { method: 'DELETE' })).status).toBe(204);
    expect(await found(token)).toEqual([]);
    expect(await found(other)).toEqual([theirs.body.id]);
  });
});

describe('updates, cancels and $inquire', () => {
  test('more units on an approved request, then cancel all; an update after a denial is refused', async () => {
    const initial = request('J3380', 6);
    const first = await submit(initial);
    expect(readPasResponse(first.body).status).toBe('certified');
    const prior = initial.entry![0]!.resource as Claim & { id: string };
    const base = requestInput({
      claimId: `${prior.id}-2`,
      transactionId: `${prior.id}-u2`,
      trace: `${prior.identifier![0]!.value ?? ''}-2`,
    });
    const more = buildPasUpdate({
      ...base,
      services: [{ ...base.services[0]!, code: 'J3380', units: 9 }],
      prior,
      cancel: [],
    });
    const updated = readPasResponse((await submit(more)).body);
    expect(updated.status).toBe('certified');
    expect(updated.items[0]?.authorized?.units).toBe(9);
    const cancel = buildPasUpdate({
      ...requestInput({
        claimId: `${prior.id}-3`,
        transactionId: `${prior.id}-u3`,
        trace: `${prior.identifier![0]!.value ?? ''}-3`,
      }),
      services: [{ ...base.services[0]!, code: 'J3380', units: 9 }],
      prior: more.entry![0]!.resource as Claim & { id: string },
      cancel: 'all',
    });
    const cancelled = readPasResponse((await submit(cancel)).body);
    expect(cancelled.status).toBe('cancelled');

    const denied = request('J9312', 4);
    await submit(denied);
    const deniedClaim = denied.entry![0]!.resource as Claim & { id: string };
    const after = buildPasUpdate({
      ...requestInput({
        claimId: `${deniedClaim.id}-2`,
        transactionId: `${deniedClaim.id}-u2`,
        trace: 'X-2',
      }),
      prior: deniedClaim,
      cancel: [],
    });
    const refused = await submit(after);
    expect(refused.status).toBe(422);
    expect(refused.body.issue[0].details.text).toMatch(/denied/);
  });

  test('$inquire by member id, provider and the pended reference: Parameters of current answers named return', async () => {
    const pend = request('J1459', 60);
    const first = readPasResponse((await submit(pend)).body);
    const inquiry = buildPasInquiry(
      requestInput({ claimId: 'inq-1', transactionId: 'inq-1', trace: 'INQ1' }),
      { 1: { payerReference: first.items[0]!.payerReference! } },
    );
    const res = await call(payer.pasFhirBaseUrl, token, 'Claim/$inquire', { method: 'POST', body: inquiry });
    expect(res.status).toBe(200);
    expect(res.body.parameter.map((p: { name: string }) => p.name)).toEqual(['return']);
    const readings = readPasInquiry(res.body);
    expect(readings.map((r) => [r.status, r.nonconformance === undefined])).toEqual([['pended', true]]);
    await payer.pas.finishReviews();
    const later = readPasInquiry(
      (await call(payer.pasFhirBaseUrl, token, 'Claim/$inquire', { method: 'POST', body: inquiry })).body,
    );
    expect(later.map((r) => r.status)).toEqual(['certified']);
  });
});

describe('bad input and idempotency', () => {
  test('not a Bundle, an empty Bundle, a Claim without its certification type: 400 with an OperationOutcome', async () => {
    for (const body of [
      { resourceType: 'Patient' },
      {
        resourceType: 'Bundle',
        type: 'collection',
        identifier: { value: 'x' },
        timestamp: '2026-12-04T00:00:00Z',
        entry: [],
      },
    ]) {
      const res = await submit(body);
      expect(res.status).toBe(400);
      expect(res.body.resourceType).toBe('OperationOutcome');
    }
  });

  test('the same Bundle twice is answered once; its identifier with other content is refused', async () => {
    const b = request('J3380', 6);
    const one = await submit(b);
    const two = await submit(b);
    expect(two.headers.get('idempotent-replayed')).toBe('true');
    expect(two.body).toEqual(one.body);
    const changed = structuredClone(b);
    (changed.entry![0]!.resource as Claim).item![0]!.quantity = { value: 7, unit: 'units' };
    expect((await submit(changed)).status).toBe(422);
  });

  test('without a token: 401', async () => {
    expect(
      (
        await call(payer.pasFhirBaseUrl, undefined, 'Claim/$submit', {
          method: 'POST',
          body: request('J3380', 1),
        })
      ).status,
    ).toBe(401);
  });
});

describeShared(['conformance', 'pas'], 'the payer’s answers against the IG', (dir) => {
  test('Inferno’s nonconformant bundle gets a non-2xx status and an OperationOutcome', async () => {
    const bad = JSON.parse(
      readFileSync(path.join(dir, 'inferno', 'nonconformant_pas_bundle_v221.json'), 'utf8'),
    );
    const res = await submit(bad);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  test('the IG’s own request examples are accepted and answered with conforming Response Bundles', async () => {
    const ig = path.join(dir, 'ig-2.2.1');
    for (const f of [
      'Bundle-ReferralAuthorizationBundleExample.json',
      'Bundle-MedicalServicesAuthorizationBundleExample.json',
      'Bundle-HomecareAuthorizationBundleExample.json',
    ]) {
      const res = await submit(JSON.parse(readFileSync(path.join(ig, f), 'utf8')));
      expect([f, res.status]).toEqual([f, 200]);
      expect([f, validatePasResponseBundle(res.body)]).toEqual([f, undefined]);
    }
  });

  test('every element of the payer’s answers appears in an IG response example', async () => {
    const ig = path.join(dir, 'ig-2.2.1');
    const examples = readdirSync(ig)
      .filter((f) => /Response(Bundle)?Example\.json$/.test(f) && !f.includes('Inquiry'))
      .map((f) => JSON.parse(readFileSync(path.join(ig, f), 'utf8')) as Bundle | { resourceType: string });
    const resources = examples.flatMap((e) =>
      'entry' in e && e.entry ? e.entry.map((x) => x.resource!) : [e],
    );
    const shape = (value: unknown, at: string, out: Set<string>): Set<string> => {
      if (Array.isArray(value)) {
        value.forEach((v) => shape(v, at, out));
      } else if (value && typeof value === 'object') {
        for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
          if (child === undefined || (key === 'text' && !at.includes('.'))) {
            continue;
          }
          if (key === 'extension' && Array.isArray(child)) {
            for (const e of child as { url?: string }[]) {
              const name = `${at}.extension:${(e.url ?? '').split('/').at(-1) ?? ''}`;
              out.add(name);
              shape({ ...e, url: undefined }, name, out);
            }
            continue;
          }
          out.add(`${at}.${key}`);
          shape(child, `${at}.${key}`, out);
        }
      }
      return out;
    };
    const known = new Set<string>();
    resources
      .filter((r) => r.resourceType === 'ClaimResponse')
      .forEach((r) => shape(r, 'ClaimResponse', known));
    // Forms the IG shows no example of (pas.md §2): the A6 addItem's quantity and its preauth
    // period, processNote of a denial, the CommunicationRequest of a request for more information,
    // the authorized quantity's unit text, and an error without errorElement.
    const named = new Set([
      'ClaimResponse.addItem.quantity',
      'ClaimResponse.addItem.quantity.value',
      'ClaimResponse.addItem.quantity.unit',
      'ClaimResponse.addItem.extension:extension-itemPreAuthPeriod',
      'ClaimResponse.addItem.extension:extension-itemPreAuthPeriod.valuePeriod',
      'ClaimResponse.addItem.extension:extension-itemPreAuthPeriod.valuePeriod.start',
      'ClaimResponse.addItem.extension:extension-itemPreAuthPeriod.valuePeriod.end',
      'ClaimResponse.addItem.extension:extension-itemPreAuthIssueDate',
      'ClaimResponse.addItem.extension:extension-itemPreAuthIssueDate.valueDate',
      'ClaimResponse.addItem.adjudication',
      'ClaimResponse.addItem.adjudication.extension:extension-reviewAction',
      'ClaimResponse.addItem.adjudication.extension:extension-reviewAction.extension:number',
      'ClaimResponse.addItem.adjudication.extension:extension-reviewAction.extension:number.valueString',
      'ClaimResponse.addItem.adjudication.extension:extension-reviewAction.extension:extension-reviewActionCode',
      'ClaimResponse.addItem.adjudication.extension:extension-reviewAction.extension:extension-reviewActionCode.valueCodeableConcept',
      'ClaimResponse.addItem.adjudication.extension:extension-reviewAction.extension:extension-reviewActionCode.valueCodeableConcept.coding',
      'ClaimResponse.addItem.adjudication.extension:extension-reviewAction.extension:extension-reviewActionCode.valueCodeableConcept.coding.system',
      'ClaimResponse.addItem.adjudication.extension:extension-reviewAction.extension:extension-reviewActionCode.valueCodeableConcept.coding.code',
      'ClaimResponse.addItem.adjudication.category',
      'ClaimResponse.addItem.adjudication.category.coding',
      'ClaimResponse.addItem.adjudication.category.coding.system',
      'ClaimResponse.addItem.adjudication.category.coding.code',
      'ClaimResponse.addItem.productOrService.coding.system',
      'ClaimResponse.item.noteNumber',
      'ClaimResponse.processNote',
      'ClaimResponse.processNote.number',
      'ClaimResponse.processNote.type',
      'ClaimResponse.processNote.text',
      'ClaimResponse.communicationRequest',
      'ClaimResponse.communicationRequest.reference',
      'ClaimResponse.item.extension:extension-itemAuthorizedDetail.extension:quantity.valueQuantity.unit',
      'ClaimResponse.request.identifier',
      'ClaimResponse.request.identifier.system',
      'ClaimResponse.request.identifier.value',
      'ClaimResponse.identifier.system',
      'ClaimResponse.identifier.value',
    ]);
    const unknown = new Set<string>();
    for (const code of ['J3380', 'J1439', 'J9312', 'J1459', 'J1745']) {
      const b = (await submit(request(code, 2000))).body as Bundle;
      for (const p of shape(b.entry![0]!.resource, 'ClaimResponse', new Set())) {
        if (!known.has(p) && !named.has(p)) {
          unknown.add(p);
        }
      }
    }
    expect([...unknown]).toEqual([]);
  });
});
