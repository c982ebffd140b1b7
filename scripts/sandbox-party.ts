/**
 * What the standalone sandbox scripts (`sandbox:ehr`, `sandbox:payer`) share: numbers from the
 * environment, one registered SMART Backend Services client whose file (the shape `dripline client
 * create` prints) is written or printed, and a clean stop on Ctrl-C / SIGTERM.
 */
import { writeFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { exportJWK } from 'jose/key/export';
import { generateKeyPair } from 'jose/key/generate/keypair';

/** A non-negative number from the environment (integers only unless `fractions`), or undefined. */
export function numberEnv(name: string, options: { fractions?: boolean } = {}): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') {
    return undefined;
  }
  const value = Number(raw);
  const ok = options.fractions ? Number.isFinite(value) : Number.isInteger(value);
  if (!ok || value < 0) {
    throw new Error(`${name} must be a non-negative ${options.fractions ? 'number' : 'integer'}`);
  }
  return value;
}

interface Party {
  readonly tokenUrl: string;
  readonly fhirBaseUrl: string;
  registerClient(input: { jwks: { keys: object[] }; scope: string }): Promise<string>;
}

/**
 * Registers an ES384 client at the party and prints its client file (with the private key), or
 * writes it (mode 0600) to the path in `fileEnv` and says where. `server` names the module whose
 * `registerClient` other clients can use.
 */
export async function issueClient(
  party: Party,
  options: { scope: string; kid: string; fileEnv: string; server: string },
): Promise<void> {
  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: options.kid, alg: 'ES384', use: 'sig' };
  const clientId = await party.registerClient({ jwks: { keys: [publicJwk] }, scope: options.scope });
  const clientFile = {
    client_id: clientId,
    scope: options.scope,
    token_url: party.tokenUrl,
    fhir_base_url: party.fhirBaseUrl,
    alg: 'ES384',
    jwk: { ...(await exportJWK(privateKey)), kid: options.kid, alg: 'ES384', use: 'sig' },
  };
  const clientPath = process.env[options.fileEnv];
  if (clientPath) {
    writeFileSync(clientPath, `${JSON.stringify(clientFile, null, 2)}\n`, { mode: 0o600 });
  }
  console.log('');
  console.log(`A client was registered for you (scope "${options.scope}").`);
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
    `Other clients: register in-process with \`registerClient({ jwks, scope })\` from ${options.server}.`,
  );
}

/** Stops the party once on SIGINT or SIGTERM, then exits. */
export function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) {
      return;
    }
    stopping = true;
    void stop().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
