/** The store contract (./contract.ts): the auth store, sequences, lifecycle. */
import { randomUUID } from 'node:crypto';
import { describe, expect } from '@jest/globals';
import type { ClientRecord } from '../../src/store/port.ts';
import type { ContractTest } from './contract-support.ts';
import { newTenant } from './contract-support.ts';

export function describeAuthContract(it: ContractTest): void {
  describe('auth store', () => {
    it('creates and reads OAuth clients', async (store) => {
      const tenant = newTenant();
      const clientId = `client-${randomUUID()}`;
      const client = {
        clientId,
        tenant,
        name: 'Billing bot',
        scope: 'system/Claim.rs system/Patient.r',
        jwks: {
          keys: [
            {
              kty: 'EC',
              crv: 'P-256',
              x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
              y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
              kid: 'k1',
            },
          ],
        },
        createdAt: new Date().toISOString(),
      };
      await store.auth.createClient(client);
      expect(await store.auth.getClient(clientId)).toEqual(client);
      expect(await store.auth.getClient(`missing-${randomUUID()}`)).toBeUndefined();
      const disabled = { ...client, clientId: `${clientId}-2`, disabled: true };
      await store.auth.createClient(disabled);
      expect(await store.auth.getClient(disabled.clientId)).toEqual(disabled);
    });

    it('lists clients by tenant, oldest first; updates disable a client and replace its keys', async (store) => {
      const tenant = newTenant();
      const key = (kid: string): Record<string, unknown> => ({
        kty: 'EC',
        crv: 'P-256',
        x: 'x',
        y: 'y',
        kid,
      });
      const make = (n: number): ClientRecord => ({
        clientId: `client-${n}-${randomUUID()}`,
        tenant,
        scope: 'system/Claim.rs',
        jwks: { keys: [key(`k${n}`)] },
        createdAt: new Date(Date.UTC(2026, 11, 4, 10, 0, n)).toISOString(),
      });
      const [second, first] = [make(2), make(1)];
      await store.auth.createClient(second);
      await store.auth.createClient(first);
      await store.auth.createClient({ ...make(3), tenant: newTenant() });
      expect((await store.auth.listClients(tenant)).map((c) => c.clientId)).toEqual([
        first.clientId,
        second.clientId,
      ]);
      const all = (await store.auth.listClients()).map((c) => c.clientId);
      expect(all).toEqual(expect.arrayContaining([first.clientId, second.clientId]));
      expect(all.length).toBeGreaterThanOrEqual(3);

      const disabled = await store.auth.updateClient(first.clientId, { disabled: true });
      expect(disabled).toEqual({ ...first, disabled: true });
      expect(await store.auth.getClient(first.clientId)).toEqual({ ...first, disabled: true });
      const rotated = await store.auth.updateClient(first.clientId, { jwks: { keys: [key('k9')] } });
      expect(rotated).toEqual({ ...first, disabled: true, jwks: { keys: [key('k9')] } });
      expect(await store.auth.getClient(second.clientId)).toEqual(second);
      expect(await store.auth.updateClient(`missing-${randomUUID()}`, { disabled: true })).toBeUndefined();
    });

    it('clientRegistryVersion: steady without changes, new after every client change (or undefined)', async (store) => {
      const client: ClientRecord = {
        clientId: `client-${randomUUID()}`,
        tenant: newTenant(),
        scope: 'system/Patient.rs',
        jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' }] },
        createdAt: new Date().toISOString(),
      };
      const before = await store.auth.clientRegistryVersion();
      await store.auth.getClient(client.clientId);
      const steady = await store.auth.clientRegistryVersion();
      await store.auth.createClient(client);
      const created = await store.auth.clientRegistryVersion();
      await store.auth.updateClient(client.clientId, { disabled: true });
      const disabled = await store.auth.clientRegistryVersion();
      await store.auth.updateClient(client.clientId, {
        jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k2' }] },
      });
      const rekeyed = await store.auth.clientRegistryVersion();
      if (before === undefined) {
        // A store without the signal: every value is undefined, callers always read.
        expect([steady, created, disabled, rekeyed]).toEqual([undefined, undefined, undefined, undefined]);
        return;
      }
      expect(steady).toBe(before);
      expect(new Set([before, created, disabled, rekeyed]).size).toBe(4);
    });

    it('recordJti: fresh once, replay false, scoped per client; an expired entry no longer blocks', async (store) => {
      const clientId = `client-${randomUUID()}`;
      const jti = randomUUID();
      const now = new Date();
      const expiresAt = new Date(now.getTime() + 300_000).toISOString();
      expect(await store.auth.recordJti(clientId, jti, expiresAt, now)).toBe(true);
      expect(await store.auth.recordJti(clientId, jti, expiresAt, now)).toBe(false);
      expect(await store.auth.recordJti(clientId, jti, expiresAt, new Date(now.getTime() + 299_000))).toBe(
        false,
      );
      expect(await store.auth.recordJti(`${clientId}-other`, jti, expiresAt, now)).toBe(true);
      const later = new Date(now.getTime() + 600_000);
      expect(
        await store.auth.recordJti(clientId, jti, new Date(later.getTime() + 300_000).toISOString(), later),
      ).toBe(true);
      const concurrent = await Promise.all(
        Array.from({ length: 8 }, () => store.auth.recordJti(clientId, 'same-jti', expiresAt, now)),
      );
      expect(concurrent.filter(Boolean)).toHaveLength(1);
    });

    it('getOrInitSetting: the first writer wins', async (store) => {
      const key = `signing-key-${randomUUID()}`;
      expect(await store.auth.getOrInitSetting(key, () => 'first')).toBe('first');
      let called = false;
      expect(
        await store.auth.getOrInitSetting(key, () => {
          called = true;
          return 'second';
        }),
      ).toBe('first');
      expect(called).toBe(false);
      const key2 = `race-${randomUUID()}`;
      const values = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.auth.getOrInitSetting(key2, () => `candidate-${i}`)),
      );
      expect(new Set(values).size).toBe(1);
    });
  });

  describe('sequences', () => {
    it('next: 1, 2, 3 … per tenant and name', async (store) => {
      const tenant = newTenant();
      const other = newTenant();
      expect(await store.sequences.next(tenant, 'isa|A|B')).toBe(1);
      expect(await store.sequences.next(tenant, 'isa|A|B')).toBe(2);
      expect(await store.sequences.next(tenant, 'isa|A|C')).toBe(1);
      expect(await store.sequences.next(other, 'isa|A|B')).toBe(1);
      expect(await store.sequences.next(tenant, 'isa|A|B')).toBe(3);
    });

    it('next: concurrent callers never get the same value, and none is skipped', async (store) => {
      const tenant = newTenant();
      const values = await Promise.all(
        Array.from({ length: 40 }, () => store.sequences.next(tenant, 'gs|A')),
      );
      expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    });
  });

  describe('lifecycle', () => {
    it('ping resolves', async (store) => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
