/**
 * `npm run sandbox:ehr`: a standalone sandbox EHR with today's seeded infusion day.
 *
 * Environment:
 *   SANDBOX_EHR_PORT        port (default 8090)
 *   SANDBOX_EHR_HOST        bind address (default 127.0.0.1)
 *   SANDBOX_EHR_PUBLIC_URL  the URL clients use, when not http://host:port
 *   SANDBOX_EHR_PATIENTS    patients with a visit today (default: the seed's own default)
 *   SANDBOX_EHR_SEED        PRNG seed (default 1)
 *   SANDBOX_EHR_CLIENT_FILE where to write the generated client file (default: printed)
 *   SANDBOX_REPLAY_SPEED    when set, replays the day's timeline at this speed
 *                           (1 = real time, 60 = one minute per second, 0 = as fast as possible)
 *
 * At start it registers one SMART Backend Services client (scope `system/*.rs
 * system/Subscription.cruds`) and prints its client file: the same shape `dripline client create`
 * produces, so it can be used as an EHR connection's credentials or with `dripline token`.
 */
import { writeFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { exportJWK, generateKeyPair } from 'jose';
import { createLogger } from '../src/logger.ts';
import { startSandboxEhr } from '../src/sandbox/ehr/server.ts';

const SCOPE = 'system/*.rs system/Subscription.cruds';

function intEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') {
    return undefined;
  }
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`${name} must be a non-negative number`);
  }
  return value;
}

function today(): string {
  const d = new Date();
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

async function main(): Promise<void> {
  const logger = createLogger('info');
  const patients = intEnv('SANDBOX_EHR_PATIENTS');
  const seed = intEnv('SANDBOX_EHR_SEED');
  const publicUrl = process.env['SANDBOX_EHR_PUBLIC_URL'];
  const ehr = await startSandboxEhr({
    port: intEnv('SANDBOX_EHR_PORT') ?? 8090,
    host: process.env['SANDBOX_EHR_HOST'] ?? '127.0.0.1',
    ...(publicUrl ? { publicUrl } : {}),
    seed: {
      date: today(),
      ...(patients !== undefined ? { patients } : {}),
      ...(seed !== undefined ? { seed } : {}),
    },
    logger,
  });

  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = 'sandbox-ehr-client';
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' };
  const clientId = await ehr.registerClient({ jwks: { keys: [publicJwk] }, scope: SCOPE });
  const clientFile = {
    client_id: clientId,
    scope: SCOPE,
    token_url: ehr.tokenUrl,
    fhir_base_url: ehr.fhirBaseUrl,
    alg: 'ES384',
    jwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES384', use: 'sig' },
  };
  const clientPath = process.env['SANDBOX_EHR_CLIENT_FILE'];
  if (clientPath) {
    writeFileSync(clientPath, `${JSON.stringify(clientFile, null, 2)}\n`, { mode: 0o600 });
  }

  console.log(`Sandbox EHR listening on ${ehr.url}`);
  console.log(`  FHIR base:     ${ehr.fhirBaseUrl}   (metadata: ${ehr.fhirBaseUrl}/metadata)`);
  console.log(`  Token URL:     ${ehr.tokenUrl}   (SMART Backend Services, private_key_jwt, ES384/RS384)`);
  console.log(`  Seeded day:    ${today()}`);
  console.log('');
  console.log(`A client was registered for you (scope "${SCOPE}").`);
  if (clientPath) {
    console.log(`Its client file (with the PRIVATE key) is in ${clientPath}.`);
  } else {
    console.log('Its client file (with the PRIVATE key; keep it to this machine):');
    console.log(JSON.stringify(clientFile, null, 2));
  }
  console.log('');
  console.log(
    'Get a token:   npm run cli -- token --client <that file>   (or any SMART Backend Services client)',
  );
  console.log(
    'Other clients: register in-process with `registerClient({ jwks, scope })` from src/sandbox/ehr/server.ts.',
  );

  let stopping = false;
  const stop = (): void => {
    if (stopping) {
      return;
    }
    stopping = true;
    void ehr.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const speed = intEnv('SANDBOX_REPLAY_SPEED');
  if (speed !== undefined) {
    console.log(`Replaying the day at speed ${speed}...`);
    await ehr.replay({ speed });
    await ehr.idle();
    console.log('Replay finished; the sandbox EHR keeps serving (Ctrl-C to stop).');
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
