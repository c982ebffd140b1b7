/**
 * Argument parsing for `dripline client create --tenant <id> --scope "<scopes>" [--name <n>] [--alg ES384|RS384]`.
 * The caller (src/cli/main.ts) checks the tenant against the configuration and calls
 * `registerBackendClient` from src/auth/client-registration.ts.
 */
import { parseArgs } from 'node:util';
import type { ClientAssertionAlg } from '../auth/client-assertion.ts';
import { validateRegisteredScopes } from '../auth/scopes.ts';

export const CLIENT_CREATE_USAGE = `Usage: dripline client create --tenant <id> --scope "<scopes>" [--name <name>] [--alg ES384|RS384]

Registers a SMART Backend Services client and prints its client_id and PRIVATE key (JWK) once.

  --tenant <id>      tenant the client acts for (must exist in the configuration)
  --scope <scopes>   space-separated system/ scopes, e.g. "system/Claim.cruds system/Coverage.rs"
  --name <name>      optional display name
  --alg <alg>        key algorithm for the client assertion: ES384 (default) or RS384`;

export interface ClientCreateArgs {
  readonly tenant: string;
  /** Normalized scope string (validated). */
  readonly scope: string;
  readonly name?: string;
  readonly alg: ClientAssertionAlg;
}

/** A usage error: print `message` (and `CLIENT_CREATE_USAGE`) and exit 2; `help` → print usage and exit 0. */
export class UsageError extends Error {
  readonly usage = CLIENT_CREATE_USAGE;
  readonly help: boolean;
  constructor(message: string, help = false) {
    super(message);
    this.name = 'UsageError';
    this.help = help;
  }
}

/** Parses the arguments that follow `client create`. Throws UsageError. */
export function parseClientCreateArgs(argv: string[]): ClientCreateArgs {
  let values: { tenant?: string; scope?: string; name?: string; alg?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        tenant: { type: 'string' },
        scope: { type: 'string' },
        name: { type: 'string' },
        alg: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help === true) {
    throw new UsageError(CLIENT_CREATE_USAGE, true);
  }
  const tenant = values.tenant?.trim();
  if (!tenant) {
    throw new UsageError('--tenant <id> is required');
  }
  if (values.scope === undefined || values.scope.trim() === '') {
    throw new UsageError('--scope "<scopes>" is required, e.g. --scope "system/Claim.cruds"');
  }
  const scopes = validateRegisteredScopes(values.scope);
  if (!scopes.ok) {
    throw new UsageError(`--scope: ${scopes.message}`);
  }
  const alg = (values.alg ?? 'ES384').toUpperCase();
  if (alg !== 'ES384' && alg !== 'RS384') {
    throw new UsageError(`--alg must be ES384 or RS384, got "${values.alg ?? ''}"`);
  }
  const name = values.name?.trim();
  return { tenant, scope: scopes.scope, ...(name ? { name } : {}), alg };
}
