/**
 * `npm run cli -- prior-auth <order> [--tenant <id>] [--cancel] [--wait <seconds>]`: asks for the
 * prior authorization of an order now (or cancels it), as `POST /api/prior-auth` does — the order a
 * `MedicationRequest/<id>` (or a bare id) or a `ServiceRequest/<id>`; the job goes
 * on the durable queue of the store Dripline runs on, and the running server's prior authorization
 * worker takes it. With `--wait`, prints where the order's requests stand once the payer has
 * answered (or the time is up). The read is audited (client `cli`).
 */
import type { DriplineConfig } from '../config/config.ts';
import { recordAccess } from '../fhir/audit-access.ts';
import { enqueueOrder, parseOrderReference } from '../coverage/pas/jobs.ts';
import {} from '../coverage/pas/records.ts';
import { statusOf } from '../coverage/pas/routes.ts';
import type { Store } from '../store/port.ts';
import { readOptional } from '../store/read-optional.ts';
import { parseCommandLine } from './args.ts';

export const PRIOR_AUTH_USAGE =
  'Usage: npm run cli -- prior-auth <MedicationRequest/id|ServiceRequest/id> [--tenant <id>] [--cancel] [--wait <seconds>]';

export class PriorAuthUsageError extends Error {
  override readonly name = 'PriorAuthUsageError';
}

export async function runPriorAuth(
  config: DriplineConfig,
  store: Store,
  argv: readonly string[],
  now: () => Date = () => new Date(),
): Promise<Record<string, unknown>> {
  const { values, positionals } = parseCommandLine(
    argv,
    { tenant: { type: 'string' }, cancel: { type: 'boolean' }, wait: { type: 'string' } },
    PRIOR_AUTH_USAGE,
  );
  const parsed = parseOrderReference(positionals[0]);
  if (!parsed || positionals.length > 1) {
    throw new PriorAuthUsageError(
      'prior-auth needs one order: MedicationRequest/<id> (or <id>) or ServiceRequest/<id>',
    );
  }
  const { type, id: order } = parsed;
  const reference = `${type}/${order}`;
  const tenant = values.tenant ?? (config.tenants.length === 1 ? config.tenants[0]?.id : undefined);
  if (!tenant || !config.tenants.some((t) => t.id === tenant)) {
    throw new PriorAuthUsageError(`name the tenant: --tenant <${config.tenants.map((t) => t.id).join('|')}>`);
  }
  if (!(await readOptional(store, tenant, type, order))) {
    throw new PriorAuthUsageError(`${reference} is not on file for tenant ${tenant}`);
  }
  const waitSeconds = values.wait === undefined ? 0 : Number(values.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0 || waitSeconds > 600) {
    throw new PriorAuthUsageError('--wait takes seconds (0 to 600)');
  }
  const queued = await enqueueOrder(store, tenant, order, {
    ...(values.cancel ? { cancel: true } : {}),
    ...(type === 'ServiceRequest' ? { orderType: type } : {}),
    reason: 'asked from the command line',
    at: now(),
  });
  const deadline = Date.now() + waitSeconds * 1000;
  let cases = await statusOf(store, tenant, order, type);
  while (Date.now() < deadline && !cases.some((c) => c['status'] !== undefined && c['status'] !== 'pended')) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    cases = await statusOf(store, tenant, order, type);
  }
  await recordAccess(
    store,
    tenant,
    {
      clientId: 'cli',
      interaction: 'search-type',
      resources: cases.map((c) => `Claim/${String(c['case'])}-1`),
      patients: [],
      query: `cli prior-auth ${reference}`,
    },
    { publicUrl: config.publicUrl, now: now() },
  );
  return {
    order: reference,
    tenant,
    queued: queued.created,
    ...(values.cancel ? { cancel: true } : {}),
    cases,
  };
}
