/**
 * `npm run bench:coverage` (after pas.ts; alone: `node scripts/bench/eligibility.ts`): eligibility round trips against the sandbox payer over real HTTP, each
 * section with its baseline measured in the same run on the same machine.
 *
 * Eligibility (X12): Dripline's whole 270/271 path as the eligibility check runs it — write the 270
 * (src/x12/270), POST it with a bearer token to the sandbox X12 payer (which reads it, looks the
 * member up and writes the 271), read the 271 (src/x12/271) and map it to a CoverageEligibilityResponse
 * (src/coverage/eligibility) — one after another, for BENCH_SECONDS. Baseline: the same POST to the
 * same payer of an empty body it refuses at once (400), i.e. the HTTP, token check and express cost alone.
 *
 * Prior authorization (PAS) adds its own section (its own function below) when it lands.
 *
 * Environment: BENCH_SECONDS (5), BENCH_CONCURRENCY (4). Exits 1 if a round trip failed.
 */
import { cpus, loadavg } from 'node:os';
import { exportJWK } from 'jose/key/export';
import { generateKeyPair } from 'jose/key/generate/keypair';
import { readX12Answer } from '../../src/coverage/eligibility/answers.ts';
import {
  createEligibilityPayerPort,
  eligibilityEndpointOf,
} from '../../src/coverage/eligibility/payer-client.ts';
import { eligibilityRequest, inquiryOf } from '../../src/coverage/eligibility/request.ts';
import type { EligibilityAsk } from '../../src/coverage/eligibility/request.ts';
import { ID_PAYER_ID } from '../../src/contract/canonical.ts';
import { enrollmentFrom } from '../../src/sandbox/payer/eligibility/enrollment.ts';
import { startSandboxPayer } from '../../src/sandbox/payer/server.ts';
import { write270 } from '../../src/x12/270/write270.ts';
import { recordFigure } from './results.ts';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 4);

async function measure(
  name: string,
  once: (n: number) => Promise<void>,
): Promise<{ name: string; perSecond: number; p50: number; p99: number }> {
  const until = Date.now() + SECONDS * 1000;
  const times: number[] = [];
  let n = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < until) {
        const start = performance.now();
        await once(n++);
        times.push(performance.now() - start);
      }
    }),
  );
  times.sort((a, b) => a - b);
  const at = (q: number): number =>
    Math.round((times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0) * 10) / 10;
  return { name, perSecond: Math.round((times.length / SECONDS) * 10) / 10, p50: at(0.5), p99: at(0.99) };
}

/** The eligibility section: 270/271 round trips per second, and the payer's bare HTTP baseline. */
async function eligibilitySection(): Promise<{ ok: boolean; rows: Awaited<ReturnType<typeof measure>>[] }> {
  const patient = {
    resourceType: 'Patient' as const,
    id: 'p1',
    name: [{ family: 'Reyes', given: ['Ana'] }],
    birthDate: '1990-11-05',
  };
  const coverage = {
    resourceType: 'Coverage' as const,
    id: 'c1',
    status: 'active' as const,
    subscriberId: 'MCD778899',
    beneficiary: { reference: 'Patient/p1' },
    payor: [{ reference: 'Organization/o1' }],
    period: { start: '2020-01-01' },
  };
  const payer = await startSandboxPayer({
    port: 0,
    payerIds: { 'SBX-MEDICAID': 'medicaid' },
    members: enrollmentFrom({
      coverages: [coverage],
      patients: [patient],
      organizations: [
        {
          resourceType: 'Organization',
          id: 'o1',
          identifier: [{ system: ID_PAYER_ID, value: 'SBX-MEDICAID' }],
        },
      ],
      payerIdSystem: ID_PAYER_ID,
      ended: [],
    }),
  });
  try {
    const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'b1', alg: 'ES384', use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid: 'b1', alg: 'ES384', use: 'sig' };
    const clientId = await payer.registerClient({
      jwks: { keys: [publicJwk] },
      scope: 'system/CoverageEligibilityRequest.c',
    });
    const endpoint = eligibilityEndpointOf({
      id: 'medicaid',
      name: 'State Medicaid',
      payerId: 'SBX-MEDICAID',
      kind: 'medicaid',
      channel: 'fhir',
      fhirBaseUrl: payer.fhirBaseUrl,
      tokenUrl: payer.tokenUrl,
      clientId,
      privateKeyJwk: privateJwk,
      usage: 'T',
      timelyFilingDays: 365,
      eligibility: { channel: 'x12', url: payer.x12EligibilityUrl, tokenUrl: payer.tokenUrl },
    });
    if (!endpoint) {
      throw new Error('no eligibility endpoint');
    }
    const port = createEligibilityPayerPort(endpoint);
    let failures = 0;
    const roundTrip = async (n: number): Promise<void> => {
      const now = new Date();
      const id = `elig-${n}`;
      const ask: EligibilityAsk = {
        id,
        trace: id,
        patient,
        coverage,
        payer: { name: 'State Medicaid', payerId: 'SBX-MEDICAID' },
        provider: { name: 'Riverside Infusion', npi: '1234567893', taxId: '123456789' },
        date: now.toISOString().slice(0, 10),
        serviceTypes: ['30', '1'],
        now,
      };
      const text = await write270([inquiryOf(ask)], {
        sender: { id: '123456789' },
        receiver: { id: 'SBX-MEDICAID' },
        controlNumbers: { isa: (n % 999_999) + 1, gs: (n % 999_999) + 1 },
        now,
        usage: 'T',
        reference: id,
      });
      const answer = await port.send(text);
      const read = await readX12Answer(answer, eligibilityRequest(ask), {
        responseId: `${id}-r`,
        reference: id,
        now,
      });
      if (read.kind !== 'answered' || read.response.insurance?.[0]?.inforce !== true) {
        failures++;
      }
    };
    // The baseline: the same endpoint, token and connection, an empty body refused before any X12 work.
    const baseline = async (): Promise<void> => {
      const answer = await port.send('');
      if (answer.status !== 400 && answer.status !== 415) {
        failures++;
      }
    };
    await roundTrip(0); // warm-up: token, connection
    const rows = [
      await measure('baseline: POST refused at once (HTTP + bearer check)', baseline),
      await measure('270 written → 271 read and mapped', roundTrip),
    ];
    return { ok: failures === 0, rows };
  } finally {
    await payer.stop();
  }
}

const eligibility = await eligibilitySection();
const [refused, answered] = eligibility.rows;
if (refused !== undefined && answered !== undefined) {
  recordFigure({
    bench: 'eligibility',
    figure: `270 → 271 round trips, ${CONCURRENCY} in flight`,
    value: answered.perSecond,
    unit: 'round trips/s',
    baseline: { name: 'POST refused at once by the payer', value: refused.perSecond },
  });
}
console.log(
  JSON.stringify(
    {
      machine: { cpus: cpus().length, load: loadavg().map((l) => Math.round(l * 100) / 100) },
      seconds: SECONDS,
      concurrency: CONCURRENCY,
      eligibility: eligibility.rows,
    },
    null,
    2,
  ),
);
if (!eligibility.ok) {
  console.error('some round trips failed');
  process.exit(1);
}
