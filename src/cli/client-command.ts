/**
 * Argument parsing for the `dripline client` commands:
 *
 *   client create --tenant <id> --scope "<scopes>" [--name <n>] [--alg ES384|RS384] [--out <file>]
 *   client list [--tenant <id>]
 *   client disable <client_id>
 *   client rotate-key <client_id> [--alg ES384|RS384] [--out <file>]
 *
 * The caller (src/cli/main.ts) checks the tenant against the configuration and calls
 * src/auth/client-registration.ts.
 */
import { parseArgs } from 'node:util';
import type { ClientAssertionAlg } from '../auth/client-assertion.ts';
import { validateRegisteredScopes } from '../auth/scopes.ts';

export const CLIENT_CREATE_USAGE = `Usage: dripline client create --tenant <id> --scope "<scopes>" [--name <name>] [--alg ES384|RS384] [--out <file>]

Registers a SMART Backend Services client and prints its client file (client_id, token_url and
the PRIVATE key as a JWK) once; Dripline keeps only the public key.

  --tenant <id>      tenant the client acts for (must exist in the configuration)
  --scope <scopes>   space-separated system/ scopes, e.g. "system/Claim.cruds system/Coverage.rs"
  --name <name>      optional display name
  --alg <alg>        key algorithm for the client assertion: ES384 (default) or RS384
  --out <file>       write the client file there instead of stdout: a new file (never overwritten),
                     mode 0600, outside any git work tree`;

export const CLIENT_USAGE = `${CLIENT_CREATE_USAGE}

Usage: dripline client list [--tenant <id>]
  Lists registered clients (id, tenant, name, scopes, created, disabled, key ids); never keys.

Usage: dripline client disable <client_id>
  Disables a client: it gets no new token, and its unexpired access tokens stop working at once.

Usage: dripline client rotate-key <client_id> [--alg ES384|RS384] [--out <file>]
  Replaces the client's key pair and prints the new client file (as create does). The old key
  stops at once: its assertions are refused and the access tokens it obtained stop working.`;

export interface ClientCreateArgs {
  readonly tenant: string;
  /** Normalized scope string (validated). */
  readonly scope: string;
  readonly name?: string;
  readonly alg: ClientAssertionAlg;
  /** Where to write the client file; absent: stdout. */
  readonly out?: string;
}

/** A usage error: print `message` (and `CLIENT_CREATE_USAGE`) and exit 2; `help` → print usage and exit 0. */
export class UsageError extends Error {
  readonly usage = CLIENT_USAGE;
  readonly help: boolean;
  constructor(message: string, help = false) {
    super(message);
    this.name = 'UsageError';
    this.help = help;
  }
}

/** Parses the arguments that follow `client create`. Throws UsageError. */
export function parseClientCreateArgs(argv: string[]): ClientCreateArgs {
  const { values } = parse(
    argv,
    { tenant: true, scope: true, name: true, alg: true, out: true },
    CLIENT_CREATE_USAGE,
  );
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
  const name = values.name?.trim();
  return {
    tenant,
    scope: scopes.scope,
    ...(name ? { name } : {}),
    alg: parseAlg(values.alg),
    ...(values.out !== undefined ? { out: requireOut(values.out) } : {}),
  };
}

type Option = 'tenant' | 'scope' | 'name' | 'alg' | 'out';

function parse(
  argv: string[],
  options: Partial<Record<Option, true>>,
  usage: string,
  positional?: string,
): { values: Partial<Record<Option, string>>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(Object.keys(options).map((name) => [name, { type: 'string' as const }])),
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: positional !== undefined,
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (parsed.values.help === true) {
    throw new UsageError(usage, true);
  }
  if (positional !== undefined && parsed.positionals.length !== 1) {
    throw new UsageError(`expected exactly one ${positional}`);
  }
  const values: Partial<Record<Option, string>> = {};
  for (const name of Object.keys(options) as Option[]) {
    const value: unknown = (parsed.values as Record<string, unknown>)[name];
    if (typeof value === 'string') {
      values[name] = value;
    }
  }
  return { values, positionals: parsed.positionals };
}

function parseAlg(value: string | undefined): ClientAssertionAlg {
  const alg = (value ?? 'ES384').toUpperCase();
  if (alg !== 'ES384' && alg !== 'RS384') {
    throw new UsageError(`--alg must be ES384 or RS384, got "${value ?? ''}"`);
  }
  return alg;
}

function requireOut(value: string): string {
  if (value.trim() === '') {
    throw new UsageError('--out needs a file path');
  }
  return value;
}

const CLIENT_ID = /^[A-Za-z0-9._~-]{1,128}$/;

function clientIdArg(value: string | undefined): string {
  if (value === undefined || !CLIENT_ID.test(value)) {
    throw new UsageError(`"${value ?? ''}" is not a client_id`);
  }
  return value;
}

/** `client list [--tenant <id>]` */
export function parseClientListArgs(argv: string[]): { readonly tenant?: string } {
  const { values } = parse(argv, { tenant: true }, CLIENT_USAGE);
  const tenant = values.tenant?.trim();
  return tenant ? { tenant } : {};
}

/** `client disable <client_id>` */
export function parseClientDisableArgs(argv: string[]): { readonly clientId: string } {
  const { positionals } = parse(argv, {}, CLIENT_USAGE, '<client_id>');
  return { clientId: clientIdArg(positionals[0]) };
}

/** `client rotate-key <client_id> [--alg ES384|RS384] [--out <file>]` */
export function parseClientRotateArgs(argv: string[]): {
  readonly clientId: string;
  readonly alg: ClientAssertionAlg;
  readonly out?: string;
} {
  const { values, positionals } = parse(argv, { alg: true, out: true }, CLIENT_USAGE, '<client_id>');
  return {
    clientId: clientIdArg(positionals[0]),
    alg: parseAlg(values.alg),
    ...(values.out !== undefined ? { out: requireOut(values.out) } : {}),
  };
}
