#!/usr/bin/env node
/**
 * `npm run cli -- <command>` (the `dripline` bin when installed).
 *
 *   client create --tenant <id> --scope "<scopes>" [--name <n>] [--alg ES384|RS384]
 *   token --client <client.json> [--scope "<scopes>"]
 *   charges <bundle.json> [--setting <setting>] [--payer <payer>]
 *   tables import-cms <dir> [--out <tables dir>]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { registerBackendClient } from '../auth/client-registration.ts';
import { ConfigError, loadConfig } from '../config/config.ts';
import { openStore } from '../store/open.ts';
import { BundleError, runCharges } from './charges-command.ts';
import { parseClientCreateArgs, UsageError } from './client-command.ts';
import { requestBackendToken } from './token-command.ts';

const USAGE = `Usage: npm run cli -- <command>

Commands:
  client create --tenant <id> --scope "<scopes>" [--name <name>] [--alg ES384|RS384]
      Register a SMART Backend Services client; prints client_id, token_url, fhir_base_url and the private jwk.
  token --client <client.json> [--scope "<scopes>"]
      Get an access token with a client file printed by "client create" (a standard SMART client flow).
  charges <bundle.json> [--setting office|hospital-outpatient|home] [--payer medicare|medicaid|commercial]
      Code one patient's infusion day offline (as POST /fhir/Encounter/$infusion-charges); prints the output Parameters.
  tables import-cms <dir> [--out <tables dir>]
      Build one quarter's drug table from the CMS files in <dir> (ASP pricing, NDC-HCPCS crosswalk, HCPCS,
      OPPS Addendum B, MUE); writes <tables dir>/cms/<quarter>.json (default: the shipped tables).`;

async function clientCreate(argv: string[]): Promise<void> {
  const args = parseClientCreateArgs(argv);
  const config = loadConfig();
  if (!config.tenants.some((t) => t.id === args.tenant)) {
    throw new UsageError(
      `unknown tenant "${args.tenant}"; configured tenants: ${config.tenants.map((t) => t.id).join(', ') || '(none)'}`,
    );
  }
  const store = await openStore(config);
  try {
    const client = await registerBackendClient(store.auth, {
      tenant: args.tenant,
      scope: args.scope,
      alg: args.alg,
      now: new Date(),
      publicUrl: config.publicUrl,
      ...(args.name ? { name: args.name } : {}),
    });
    process.stdout.write(JSON.stringify(client, null, 2) + '\n');
  } finally {
    await store.close();
  }
}

async function token(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { client: { type: 'string' }, scope: { type: 'string' } },
    strict: true,
  });
  if (!values.client) {
    throw new UsageError('--client <client.json> is required');
  }
  const client = JSON.parse(readFileSync(values.client, 'utf8')) as Parameters<typeof requestBackendToken>[0];
  const result = await requestBackendToken(client, values.scope);
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

async function main(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  if (command === 'client' && sub === 'create') {
    await clientCreate(rest);
  } else if (command === 'charges') {
    const output = runCharges(sub === undefined ? rest : [sub, ...rest]);
    process.stdout.write(JSON.stringify(output, null, 2) + '\n');
  } else if (command === 'tables' && sub === 'import-cms') {
    // Loaded on demand: the importer (CSV reader, parsers) is not needed by any other command.
    const { runImportCms } = await import('./tables-command.ts');
    const summary = runImportCms(rest, new Date());
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  } else if (command === 'token') {
    await token(sub === undefined ? rest : [sub, ...rest]);
  } else if (command === undefined || command === 'help' || command === '--help') {
    process.stdout.write(USAGE + '\n');
  } else {
    throw new UsageError(`unknown command "${argv.join(' ')}"`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(err.help ? `${err.message}\n` : `dripline: ${err.message}\n\n${USAGE}\n`);
    process.exit(err.help ? 0 : 2);
  }
  if (err instanceof BundleError || (err instanceof Error && err.name === 'CmsImportError')) {
    process.stderr.write(`dripline: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`dripline: ${err.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`dripline: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
