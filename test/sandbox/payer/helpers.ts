/**
 * Test helpers for the sandbox payer: a SMART Backend Services client with its own key, FHIR
 * fetch against any base, and a clean infusion Claim to vary.
 */
import { randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import { SignJWT } from 'jose/jwt/sign';
import { exportJWK } from 'jose/key/export';
import { generateKeyPair } from 'jose/key/generate/keypair';
import { requestBackendToken } from '../../../src/cli/token-command.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import { EXT_CLAIM_FREQUENCY, ID_CLAIM, ID_CLAIM_SUBMISSION } from '../../../src/contract/canonical.ts';

export const HCPCS = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
export const CPT = 'http://www.ama-assn.org/go/cpt';
export const NDC = 'http://hl7.org/fhir/sid/ndc';
export const ICD10 = 'http://hl7.org/fhir/sid/icd-10-cm';
export const CARC = 'https://x12.org/codes/claim-adjustment-reason-codes';
export const RARC = 'https://x12.org/codes/remittance-advice-remark-codes';
/** Dripline's claim ids and submission keys (src/claims/build.ts CLAIM_SYSTEMS.claimId, payer-port.ts). */
export const CLAIM_ID_SYSTEM = ID_CLAIM;
export const SUBMISSION_SYSTEM = ID_CLAIM_SUBMISSION;
export const FREQUENCY_EXT = EXT_CLAIM_FREQUENCY;

export async function tokenFor(payer: SandboxPayer, scope: string): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = `k-${Math.random().toString(36).slice(2)}`;
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' };
  const clientId = await payer.registerClient({ jwks: { keys: [publicJwk] }, scope });
  const jwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: 'ES384' };
  const response = await requestBackendToken({ client_id: clientId, token_url: payer.tokenUrl, scope, jwk });
  return response.access_token;
}

/**
 * A token from a payer whose clock (`now` option) is not the real one: the client's assertion is
 * dated `at` as well (a client whose clock agrees with the payer's).
 */
export async function tokenAt(payer: SandboxPayer, scope: string, at: Date): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = `k-${Math.random().toString(36).slice(2)}`;
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' };
  const clientId = await payer.registerClient({ jwks: { keys: [publicJwk] }, scope });
  const iat = Math.floor(at.getTime() / 1000);
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES384', kid })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(payer.tokenUrl)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 60)
    .setJti(randomUUID())
    .sign(privateKey);
  const response = await fetch(payer.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
      client_id: clientId,
    }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) {
    throw new Error(`no token: ${JSON.stringify(body)}`);
  }
  return body.access_token;
}

export async function call(
  base: string,
  token: string | undefined,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { accept: 'application/fhir+json', ...init.headers };
  if (token) {
    headers.authorization = `Bearer ${token}`;
  }
  if (init.body !== undefined) {
    headers['content-type'] = 'application/fhir+json';
  }
  const response = await fetch(`${base}/${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

export interface LineSpec {
  code: string;
  units: number;
  modifiers?: string[];
  ndc?: string;
  date?: string;
  charge?: number;
  dx?: number[];
}

let counter = 0;

/** A claim with the given lines (default: 350 mg infliximab + 96413 + 96415, Crohn's, member M123). */
export function claim(
  options: {
    lines?: LineSpec[];
    dx?: string[];
    memberId?: string | null;
    preAuth?: string[];
    insurer?: string;
    id?: string;
    /** Claim.identifier (default: one submission identifier, new per claim). */
    identifier?: { system: string; value: string }[];
    /** Claim frequency (extension claim-frequency, as Dripline sends it); absent = none sent. */
    frequency?: '1' | '7' | '8';
    /** `Claim.related` to the original (as src/claims/build.ts writes it): payer claim number and/or our claim id. */
    replaces?: { claimNumber?: string; claimId?: string };
    /** Default: a new patient per claim (so claims are never duplicates of each other). */
    patient?: string;
  } = {},
): any {
  counter++;
  const lines: LineSpec[] = options.lines ?? [
    { code: 'J1745', units: 35, modifiers: ['JZ'], ndc: '57894003001' },
    { code: '96413', units: 1 },
    { code: '96415', units: 1 },
  ];
  const patient = options.patient ?? `Patient/p${counter}`;
  const memberId = options.memberId === undefined ? 'M123456' : options.memberId;
  return {
    resourceType: 'Claim',
    id: options.id ?? `claim-${counter}-${Math.random().toString(36).slice(2, 8)}`,
    ...(options.frequency ? { extension: [{ url: FREQUENCY_EXT, valueCode: options.frequency }] } : {}),
    identifier: options.identifier ?? [{ system: SUBMISSION_SYSTEM, value: `sub-${counter}-${Date.now()}` }],
    contained: [
      {
        resourceType: 'Coverage',
        id: 'cov',
        status: 'active',
        ...(memberId ? { subscriberId: memberId } : {}),
        beneficiary: { reference: patient },
        payor: [{ display: 'Sandbox payer' }],
      },
    ],
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: { reference: patient },
    created: '2026-11-26T12:00:00Z',
    provider: { display: 'Infusion clinic' },
    ...(options.insurer ? { insurer: { identifier: { value: options.insurer } } } : {}),
    priority: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }],
    },
    ...(options.replaces
      ? {
          related: [
            {
              ...(options.replaces.claimId
                ? { claim: { reference: `Claim/${options.replaces.claimId}` } }
                : {}),
              relationship: {
                coding: [
                  {
                    system: 'http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship',
                    code: 'prior',
                  },
                ],
              },
              ...(options.replaces.claimNumber ? { reference: { value: options.replaces.claimNumber } } : {}),
            },
          ],
        }
      : {}),
    diagnosis: (options.dx ?? ['K50.00']).map((code, i) => ({
      sequence: i + 1,
      diagnosisCodeableConcept: { coding: [{ system: ICD10, code }] },
    })),
    insurance: [
      {
        sequence: 1,
        focal: true,
        coverage: { reference: '#cov' },
        ...(options.preAuth ? { preAuthRef: options.preAuth } : {}),
      },
    ],
    item: lines.map((l, i) => ({
      sequence: i + 1,
      ...(l.dx
        ? { diagnosisSequence: l.dx }
        : (options.dx ?? ['x']).length > 0
          ? { diagnosisSequence: [1] }
          : {}),
      productOrService: { coding: [{ system: /^\d/.test(l.code) ? CPT : HCPCS, code: l.code }] },
      ...(l.modifiers
        ? { modifier: l.modifiers.map((m) => ({ coding: [{ system: HCPCS, code: m }] })) }
        : {}),
      servicedDate: l.date ?? new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10),
      quantity: { value: l.units },
      ...(l.charge !== undefined ? { net: { value: l.charge, currency: 'USD' } } : {}),
      ...(l.ndc
        ? {
            detail: [
              {
                sequence: 1,
                productOrService: { coding: [{ system: NDC, code: l.ndc }] },
                quantity: { value: 3.5, unit: 'UN' },
              },
            ],
          }
        : {}),
    })),
  };
}

/** amount of the adjudication with this category code, on a line. */
export function amount(item: any, category: string): number | undefined {
  return item.adjudication.find((a: any) => a.category.coding[0].code === category)?.amount?.value;
}

/** A ClaimResponse total by category code. */
export function total(cr: any, category: string): number | undefined {
  return cr.total.find((t: any) => t.category.coding[0].code === category)?.amount?.value;
}

/** The payer claim number (control number): the ClaimResponse's first identifier. */
export function claimNumber(cr: any): string {
  return cr.identifier[0].value;
}

/** CARC codes on a line. */
export function carcs(item: any): string[] {
  return item.adjudication.flatMap((a: any) =>
    (a.reason?.coding ?? []).filter((c: any) => c.system === CARC && c.code !== '45').map((c: any) => c.code),
  );
}

export function rarcs(item: any): string[] {
  return item.adjudication.flatMap((a: any) =>
    (a.reason?.coding ?? []).filter((c: any) => c.system === RARC).map((c: any) => c.code),
  );
}
