/**
 * What a PAS notification's SubscriptionStatus `status` makes of Dripline's subscription record
 * (src/coverage/pas/subscription.ts recordedStatus, read by parsePasNotification); and a `$events`
 * answer split into one notification per event (eventNotifications).
 */
import { expect, test } from '@jest/globals';
import type { Bundle } from '@medplum/fhirtypes';
import {
  eventNotifications,
  parsePasNotification,
  recordedStatus,
} from '../../../src/coverage/pas/subscription.ts';

const heartbeat = (status?: string): unknown => ({
  resourceType: 'Bundle',
  type: 'history',
  entry: [
    {
      resource: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'subscription', valueReference: { reference: 'https://payer.test/Subscription/s-1' } },
          ...(status ? [{ name: 'status', valueCode: status }] : []),
          { name: 'type', valueCode: 'heartbeat' },
        ],
      },
    },
  ],
});

test.each([
  ['active', 'active'],
  ['requested', 'active'],
  ['error', 'error'],
  ['off', 'off'],
  ['entered-in-error', undefined],
  [undefined, undefined],
])('a heartbeat saying %s records %s', (said, recorded) => {
  const parsed = parsePasNotification(heartbeat(said));
  if (!parsed.ok) {
    throw new Error(parsed.reason);
  }
  expect(parsed.status).toBe(said);
  expect(recordedStatus(parsed.type, parsed.status)).toBe(recorded);
});

test('a handshake Dripline answers makes it active (the handshake itself says requested)', () => {
  expect(recordedStatus('handshake', 'requested')).toBe('active');
});

test('a $events answer is split into one notification per numbered event, each with its own focus only', () => {
  const base = 'https://payer.test/pas/fhir';
  const event = (n: number | undefined, focus: string) => ({
    name: 'notification-event',
    part: [
      ...(n !== undefined ? [{ name: 'event-number', valueString: String(n) }] : []),
      { name: 'focus', valueReference: { reference: `Bundle/${focus}` } },
    ],
  });
  const response = (id: string): Bundle => ({ resourceType: 'Bundle', id, type: 'collection' });
  const answer: Bundle = {
    resourceType: 'Bundle',
    type: 'history',
    entry: [
      {
        fullUrl: 'urn:uuid:status',
        resource: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'subscription', valueReference: { reference: `${base}/Subscription/s-1` } },
            { name: 'type', valueCode: 'query-event' },
            { name: 'events-since-subscription-start', valueString: '7' },
            event(5, 'r-5'),
            event(undefined, 'r-x'),
            event(6, 'r-6'),
          ],
        },
      },
      { fullUrl: `${base}/Bundle/r-5`, resource: response('r-5') },
      { fullUrl: `${base}/Bundle/r-x`, resource: response('r-x') },
      { fullUrl: `${base}/Bundle/r-6`, resource: response('r-6') },
    ],
  };
  const split = eventNotifications(answer);
  expect(split.map((e) => e.number)).toEqual([5, 6]);
  for (const { number, body } of split) {
    const parsed = parsePasNotification(body);
    expect(parsed).toMatchObject({ ok: true, type: 'query-event', subscription: 's-1', eventsSinceStart: 7 });
    const events = parsed.ok ? parsed.events : [];
    expect(events.map((e) => [e.number, (e.resource as Bundle | undefined)?.id])).toEqual([
      [number, `r-${number}`],
    ]);
    expect(body.entry).toHaveLength(2);
  }
  expect(eventNotifications({ resourceType: 'Bundle', type: 'searchset' })).toEqual([]);
});
