/**
 * What-if reimbursement over the tenant's stored claims (src/remittance/contracts/what-if.ts does
 * the pricing): the lines of one encounter's claims, or of every claim with a date of service in a
 * month, each as billed (originals and corrections in force: not voids, not replaced, not
 * cancelled), priced by the tenant's contracts as they are and under the scenario asked.
 *
 * Parameters (API query and CLI options alike): `encounter` (an Encounter id) or `month`
 * (YYYY-MM), `mix` ("payer:share,payer:share", shares summing to 1) and `contract`
 * ("payer:contractId,..."). Anything else, both or neither of encounter and month, a bad mix: a
 * WhatIfError (400 on the API, usage error on the CLI).
 */
import type { Claim } from '@medplum/fhirtypes';
import type { TenantConfig } from '../config/config.ts';
import { tenantCalendarZone } from '../config/config.ts';
import type { ReferenceRates } from '../remittance/contracts/references.ts';
import type { WhatIfLine, WhatIfResult, WhatIfScenario } from '../remittance/contracts/what-if.ts';
import { checkMix, whatIf, WhatIfError } from '../remittance/contracts/what-if.ts';
import { tenantContracts } from '../remittance/work/engine.ts';
import type { Store, StoredResource } from '../store/port.ts';
import { searchAll } from '../store/search-all.ts';
import { claimFact } from './facts.ts';
import type { ClaimFact } from './facts.ts';
import type { AnalyticsService } from './service.ts';

export const WHAT_IF_PARAMETERS = ['encounter', 'month', 'mix', 'contract'] as const;

export interface WhatIfQuery {
  readonly encounter?: string;
  readonly month?: string;
  readonly scenario: WhatIfScenario;
}

function pairs(parameter: string, value: string): [string, string][] {
  return value.split(',').map((part) => {
    const [key, val, ...extra] = part.split(':');
    if (!key || !val || extra.length > 0) {
      throw new WhatIfError(
        parameter,
        `"${parameter}" is "name:value" pairs separated by commas, got "${value}"`,
      );
    }
    return [key.trim(), val.trim()];
  });
}

export function parseWhatIfQuery(
  raw: Readonly<Record<string, string | undefined>>,
  tenant: TenantConfig,
): WhatIfQuery {
  const { encounter, month } = raw;
  if ((encounter === undefined) === (month === undefined)) {
    throw new WhatIfError('month', 'Give one of "encounter" (an Encounter id) or "month" (YYYY-MM)');
  }
  if (month !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) {
    throw new WhatIfError('month', `"month" must be YYYY-MM, got "${month}"`);
  }
  if (encounter !== undefined && !/^[A-Za-z0-9\-.]{1,64}$/.test(encounter)) {
    throw new WhatIfError('encounter', `"encounter" must be an Encounter id, got "${encounter}"`);
  }
  const payers = tenant.payers.map((p) => p.id);
  let mix: Record<string, number> | undefined;
  if (raw['mix'] !== undefined) {
    mix = {};
    for (const [payer, share] of pairs('mix', raw['mix'])) {
      if (mix[payer] !== undefined) {
        throw new WhatIfError('mix', `"${payer}" is named twice in the mix`);
      }
      mix[payer] = /^\d*\.?\d+$/.test(share) ? Number(share) : Number.NaN;
    }
    checkMix(mix, payers);
  }
  let contracts: Record<string, string> | undefined;
  if (raw['contract'] !== undefined) {
    contracts = {};
    for (const [payer, id] of pairs('contract', raw['contract'])) {
      if (!payers.includes(payer)) {
        throw new WhatIfError('contract', `Unknown payer "${payer}" (payers: ${payers.join(', ')})`);
      }
      contracts[payer] = id;
    }
  }
  if (!mix && !contracts) {
    throw new WhatIfError(
      'mix',
      'Give a scenario: "mix" (another payer mix) and/or "contract" (other contract terms)',
    );
  }
  return {
    ...(encounter !== undefined ? { encounter } : {}),
    ...(month !== undefined ? { month } : {}),
    scenario: { ...(mix ? { mix } : {}), ...(contracts ? { contracts } : {}) },
  };
}

/** A claim billing what it billed now: not a void, not replaced, not cancelled. */
const inForce = (c: ClaimFact): boolean => c.frequency !== '8' && !c.replaced && c.state !== 'void';

function linesOf(c: ClaimFact): WhatIfLine[] {
  return c.lines.map((l) => ({
    claim: c.id,
    payer: c.payer,
    code: l.code,
    modifiers: l.modifiers,
    units: l.units,
    charge: l.billed,
    date: c.serviceDate,
  }));
}

export interface WhatIfDeps {
  readonly store: Pick<Store, 'resources'>;
  readonly service: Pick<AnalyticsService, 'reader'>;
  readonly references: ReferenceRates;
}

/** The what-if of the query over the tenant's stored claims, and the claims it read. */
export async function runWhatIf(
  deps: WhatIfDeps,
  tenant: TenantConfig,
  query: WhatIfQuery,
): Promise<
  WhatIfResult & { readonly encounter?: string; readonly month?: string; readonly claimIds: string[] }
> {
  let claims: ClaimFact[];
  if (query.encounter !== undefined) {
    const stored = await searchAll<Claim>(deps.store, tenant.id, 'Claim', [
      { code: 'encounter', kind: 'reference', values: [`Encounter/${query.encounter}`] },
    ]);
    claims = stored.map((c: Claim & StoredResource) => claimFact(c)).filter(inForce);
  } else {
    const data = await deps.service.reader.data(tenant.id, tenantCalendarZone(tenant));
    claims = [...data.claims.values()].filter((c) => inForce(c) && c.serviceDate.slice(0, 7) === query.month);
  }
  const result = whatIf({
    lines: claims.flatMap(linesOf),
    contracts: tenantContracts(tenant),
    references: deps.references,
    scenario: query.scenario,
  });
  return {
    ...(query.encounter !== undefined ? { encounter: query.encounter } : {}),
    ...(query.month !== undefined ? { month: query.month } : {}),
    ...result,
    claimIds: claims.map((c) => c.id).sort(),
  };
}
