/**
 * The sandbox payer as a tenant's payers in tests that run Dripline beside it: Dripline registered
 * as the payer's SMART Backend Services client, and the seeded payers as tenant payer entries that
 * reach it with that client. Also the sandbox tenant's billing provider, as the seeded day's claims
 * name it.
 */
import { exportJWK } from 'jose/key/export';
import { generateKeyPair } from 'jose/key/generate/keypair';
import type { BillingProvider } from '../../src/config/billing.ts';
import { SEED_PAYERS } from '../../src/sandbox/ehr/seed-data/cast.ts';
import type { SandboxPayer } from '../../src/sandbox/payer/server.ts';

type SeedPayer = (typeof SEED_PAYERS)[number];

/** A fictional provider (valid NPI check digit, EIN format, ZIP+4 for 837 loop 2010AA). */
export const SANDBOX_BILLING: BillingProvider = {
  name: 'Sandbox Infusion Center',
  npi: '1234567893',
  taxonomy: '261QI0500X',
  taxId: '123456789',
  phone: '6145550100',
  address: { line: ['100 Main Street'], city: 'Columbus', state: 'OH', postalCode: '432151234' },
};

export interface PayerClient {
  readonly clientId: string;
  readonly privateKeyJwk: Record<string, unknown>;
  readonly scope: string;
}

/** Registers a new ES384 key of Dripline's with the sandbox payer for `scope`. */
export async function payerClientOf(payer: SandboxPayer, scope: string): Promise<PayerClient> {
  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = 'dripline-payer-1';
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' };
  const privateKeyJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES384', use: 'sig' };
  const clientId = await payer.registerClient({ jwks: { keys: [publicJwk] }, scope });
  return { clientId, privateKeyJwk, scope };
}

/**
 * The seeded payers as a config file's tenant payer entries (the schema adds the defaults): FHIR
 * channel at `payer` with `client`, and whatever `entry` adds or changes for one of them (an X12
 * channel, an eligibility endpoint).
 */
export function seededTenantPayers(
  payer: SandboxPayer,
  client: PayerClient,
  entry: (seeded: SeedPayer) => Record<string, unknown> = () => ({}),
): Record<string, unknown>[] {
  return SEED_PAYERS.map((p): Record<string, unknown> => ({
    id: p.id,
    name: p.name,
    payerId: p.payerId,
    kind: p.kind,
    channel: 'fhir',
    fhirBaseUrl: payer.fhirBaseUrl,
    tokenUrl: payer.tokenUrl,
    clientId: client.clientId,
    privateKeyJwk: client.privateKeyJwk,
    scope: client.scope,
    ...entry(p),
  }));
}
