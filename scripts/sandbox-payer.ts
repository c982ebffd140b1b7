/**
 * `npm run sandbox:payer`: a standalone sandbox payer (Claim/$submit → ClaimResponse).
 *
 * Environment:
 *   SANDBOX_PAYER_PORT         port (default 8091)
 *   SANDBOX_PAYER_HOST         bind address (default 127.0.0.1)
 *   SANDBOX_PAYER_PUBLIC_URL   the URL clients use, when not http://host:port
 *   SANDBOX_PAYER_CLIENT_FILE  where to write the generated client file (default: printed)
 *
 * At start it registers one SMART Backend Services client (scope `system/Claim.cr
 * system/ClaimResponse.rs`) and prints its client file: the same shape `dripline client create`
 * produces, usable as a payer's credentials in Dripline's config or with `dripline token`.
 */
import { writeFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { exportJWK, generateKeyPair } from 'jose';
import { createLogger } from '../src/logger.ts';
import { startSandboxPayer } from '../src/sandbox/payer/server.ts';

const SCOPE = 'system/Claim.cr system/ClaimResponse.rs';

function intEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') {
    return undefined;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer`);
  }
  return value;
}

async function main(): Promise<void> {
  const logger = createLogger('info');
  const publicUrl = process.env['SANDBOX_PAYER_PUBLIC_URL'];
  const payer = await startSandboxPayer({
    port: intEnv('SANDBOX_PAYER_PORT') ?? 8091,
    host: process.env['SANDBOX_PAYER_HOST'] ?? '127.0.0.1',
    ...(publicUrl ? { publicUrl } : {}),
    logger,
  });

  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = 'sandbox-payer-client';
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' };
  const clientId = await payer.registerClient({ jwks: { keys: [publicJwk] }, scope: SCOPE });
  const clientFile = {
    client_id: clientId,
    scope: SCOPE,
    token_url: payer.tokenUrl,
    fhir_base_url: payer.fhirBaseUrl,
    alg: 'ES384',
    jwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES384', use: 'sig' },
  };
  const clientPath = process.env['SANDBOX_PAYER_CLIENT_FILE'];
  if (clientPath) {
    writeFileSync(clientPath, `${JSON.stringify(clientFile, null, 2)}\n`, { mode: 0o600 });
  }

  console.log(`Sandbox payer listening on ${payer.url}`);
  console.log(
    `  FHIR base:  ${payer.fhirBaseUrl}   (kind from Claim.insurer.identifier: SBX-MEDICARE | SBX-MEDICAID | SBX-COMMERCIAL; default medicare)`,
  );
  console.log(
    `              ${payer.url}/medicare/fhir, ${payer.url}/medicaid/fhir, ${payer.url}/commercial/fhir   (kind fixed)`,
  );
  console.log(
    `  Submit:     POST {base}/Claim/$submit   (Claim, or a Bundle whose first entry is the Claim; header Idempotency-Key)`,
  );
  console.log(`  Results:    GET {base}/ClaimResponse?request=Claim/{id}   GET {base}/ClaimResponse/{id}`);
  console.log(`  Token URL:  ${payer.tokenUrl}   (SMART Backend Services, private_key_jwt, ES384/RS384)`);
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
    'Other clients: register in-process with `registerClient({ jwks, scope })` from src/sandbox/payer/server.ts.',
  );

  let stopping = false;
  const stop = (): void => {
    if (stopping) {
      return;
    }
    stopping = true;
    void payer.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
