/**
 * What a PAS notification's SubscriptionStatus `status` makes of Dripline's subscription record
 * (src/coverage/pas/subscription.ts recordedStatus, read by parsePasNotification).
 */
import { expect, test } from '@jest/globals';
import { parsePasNotification, recordedStatus } from '../../../src/coverage/pas/subscription.ts';

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
