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
import { createLogger } from '../src/logger.ts';
import { startSandboxPayer } from '../src/sandbox/payer/server.ts';
import { issueClient, numberEnv, stopOnSignals } from './sandbox-party.ts';

const SCOPE = 'system/Claim.cr system/ClaimResponse.rs';

async function main(): Promise<void> {
  const logger = createLogger('info');
  const publicUrl = process.env['SANDBOX_PAYER_PUBLIC_URL'];
  const payer = await startSandboxPayer({
    port: numberEnv('SANDBOX_PAYER_PORT') ?? 8091,
    host: process.env['SANDBOX_PAYER_HOST'] ?? '127.0.0.1',
    ...(publicUrl ? { publicUrl } : {}),
    logger,
  });

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
  await issueClient(payer, {
    scope: SCOPE,
    kid: 'sandbox-payer-client',
    fileEnv: 'SANDBOX_PAYER_CLIENT_FILE',
    server: 'src/sandbox/payer/server.ts',
  });
  stopOnSignals(() => payer.stop());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
