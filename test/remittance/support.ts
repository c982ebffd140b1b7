/**
 * What the posting tests share: a temp-dir store with a tenant whose X12 payer has claims waiting
 * in `submitted`, an 835 paying them (written with the 835 writer, every line echoing its line item
 * control number), and the posting context.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Claim } from '@medplum/fhirtypes';
import { EXT_CLAIM_PAYER, EXT_CLAIM_STATE } from '../../src/contract/canonical.ts';
import { officeInfusionContext, SAMPLE_PAYER, SAMPLE_PROVIDER } from '../../src/claims/x12-samples.ts';
import type { PayerEndpoint } from '../../src/config/billing.ts';
import type { TenantConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/logger.ts';
import type { ClaimPaymentPostedHook } from '../../src/remittance/posted.ts';
import type { IntakeDeps } from '../../src/remittance/intake.ts';
import type { FilePostingContext } from '../../src/remittance/post-file.ts';
import type { Store, StoredResource } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import type { ClaimPaymentInput, RemittanceInput, Write835Options } from '../../src/x12/835/write835.ts';
import { lineItemControlNumber } from '../../src/x12/837/lines-2400.ts';

export const TENANT = 'riverbend';
export const SECONDARY: PayerEndpoint = {
  id: 'second',
  name: 'Second Mutual',
  payerId: '77001',
  kind: 'commercial',
  channel: 'x12',
  usage: 'T',
  timelyFilingDays: 365,
};

export const TENANTS: readonly TenantConfig[] = [
  {
    id: TENANT,
    name: 'Riverbend Infusion Center',
    timeZone: 'America/Chicago',
    connections: [],
    coding: {},
    billing: SAMPLE_PROVIDER,
    payers: [{ ...SAMPLE_PAYER, usage: 'T' }, SECONDARY],
  },
  {
    id: 'other-clinic',
    name: 'Another clinic',
    connections: [],
    coding: {},
    billing: { ...SAMPLE_PROVIDER, npi: '1245319599', taxId: '987654321' },
    payers: [{ ...SAMPLE_PAYER, usage: 'T' }],
  },
];

// One instant for every party of a fixture, the store included: a payment is posted only to a
// claim stored before it, so a store on the real clock made posting fail after 15:00 UTC.
export const NOW = new Date('2026-12-04T15:00:00Z');

export interface PostingFixture {
  readonly store: SqliteStore;
  readonly dir: string;
  readonly intake: IntakeDeps;
  readonly posting: FilePostingContext;
  readonly hookCalls: Parameters<ClaimPaymentPostedHook>[0][];
  close(): Promise<void>;
}

export async function openPostingFixture(
  options: {
    hooks?: ClaimPaymentPostedHook[];
    paymentsPerJob?: number;
    batchSize?: number;
    maxBytes?: number;
  } = {},
): Promise<PostingFixture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dripline-remit-'));
  const store = await openSqliteStore({ path: path.join(dir, 'store.sqlite'), now: () => NOW });
  const hookCalls: Parameters<ClaimPaymentPostedHook>[0][] = [];
  const recorder: ClaimPaymentPostedHook = (ctx) => {
    hookCalls.push(ctx);
    return [];
  };
  const now = (): Date => NOW;
  const remittanceDir = path.join(dir, 'remittance');
  return {
    store,
    dir,
    hookCalls,
    intake: { store, remittanceDir, tenants: () => TENANTS, now, maxBytes: options.maxBytes ?? 50_000_000 },
    posting: {
      store,
      remittanceDir,
      tenants: () => TENANTS,
      now,
      publicUrl: 'http://dripline.test',
      logger: createLogger('silent'),
      hooks: [recorder, ...(options.hooks ?? [])],
      ...(options.paymentsPerJob ? { paymentsPerJob: options.paymentsPerJob } : {}),
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Stores office-infusion claims 1..n of the sample payer, `submitted` (in an X12 batch). */
export async function seedSubmittedClaims(
  store: Pick<Store, 'resources'>,
  n: number,
  from = 1,
): Promise<(Claim & StoredResource)[]> {
  const out: (Claim & StoredResource)[] = [];
  for (let i = from; i < from + n; i++) {
    const claim = officeInfusionContext(i).claim;
    const stored = await store.resources.create(
      TENANT,
      {
        ...claim,
        extension: [
          { url: EXT_CLAIM_STATE, valueCode: 'submitted' },
          { url: EXT_CLAIM_PAYER, valueString: SAMPLE_PAYER.id },
        ],
      },
      { id: claim.id },
    );
    out.push(stored.resource as Claim & StoredResource);
  }
  return out;
}

/**
 * The payer's payment of a claim: each line allowed at 80% of its charge (CO-45 the rest), the
 * first line's allowed amount partly to the deductible (PR-1 50.00), the JW (discarded drug) line
 * denied CO-4 with RARC N362 when `denyWaste`.
 */
export function paymentOf(
  claim: Claim & { id: string },
  options: {
    payerClaimNumber?: string;
    denyWaste?: boolean;
    echoLineNumbers?: boolean;
    status?: string;
  } = {},
): ClaimPaymentInput {
  const cents = (x: number): number => Math.round(x * 100);
  const services = (claim.item ?? []).map((item, i) => {
    const charge = item.net?.value ?? 0;
    const waste = (item.modifier ?? []).some((m) => m.coding?.[0]?.code === 'JW');
    const allowed = cents(charge * 0.8) / 100;
    const deductible = i === 0 ? Math.min(50, allowed) : 0;
    const adjustments =
      waste && options.denyWaste
        ? [{ group: 'CO', reason: '4', amount: charge }]
        : [
            { group: 'CO', reason: '45', amount: (cents(charge) - cents(allowed)) / 100 },
            ...(deductible > 0 ? [{ group: 'PR', reason: '1', amount: deductible }] : []),
          ];
    const paid = waste && options.denyWaste ? 0 : (cents(allowed) - cents(deductible)) / 100;
    const code = item.productOrService.coding?.[0]?.code ?? '';
    return {
      procedure: {
        qualifier: 'HC',
        code,
        modifiers: (item.modifier ?? []).map((m) => m.coding?.[0]?.code ?? ''),
      },
      charge,
      paid,
      units: item.quantity?.value ?? 1,
      dates: [{ qualifier: '472', value: item.servicedDate ?? '2026-11-02' }],
      adjustments,
      references:
        options.echoLineNumbers === false
          ? []
          : [{ qualifier: '6R', value: lineItemControlNumber(claim.id, item) }],
      amounts: waste && options.denyWaste ? [] : [{ qualifier: 'B6', value: allowed }],
      quantities: [],
      remarks: waste && options.denyWaste ? ['N362'] : [],
      pharmacyRejects: [],
    };
  });
  const charge = services.reduce((s, l) => s + cents(l.charge), 0) / 100;
  const paid = services.reduce((s, l) => s + cents(l.paid), 0) / 100;
  const pr =
    services
      .flatMap((s) => s.adjustments)
      .filter((a) => a.group === 'PR')
      .reduce((s, a) => s + cents(a.amount), 0) / 100;
  return {
    patientControlNumber: claim.id,
    status: options.status ?? '1',
    charge,
    paid,
    patientResponsibility: pr,
    filingIndicator: 'CI',
    payerClaimNumber: options.payerClaimNumber ?? `ICN-${claim.id}`,
    facilityType: '11',
    frequency: '1',
    adjustments: [],
    names: [
      {
        entity: 'QC',
        entityType: '1',
        last: 'GARCIA',
        first: 'MARIA',
        idQualifier: 'MI',
        id: 'XYZ100000001',
      },
    ],
    references: [],
    dates: [
      { qualifier: '232', value: '2026-11-02' },
      { qualifier: '233', value: '2026-11-02' },
    ],
    amounts: [],
    quantities: [],
    services,
  };
}

/** The reversal (CLP02 22) of a payment: every amount negated. */
export function reversalOf(payment: ClaimPaymentInput): ClaimPaymentInput {
  const neg = (x: number): number => (x === 0 ? 0 : -x);
  return {
    ...payment,
    status: '22',
    charge: neg(payment.charge),
    paid: neg(payment.paid),
    ...(payment.patientResponsibility !== undefined
      ? { patientResponsibility: neg(payment.patientResponsibility) }
      : {}),
    services: payment.services.map((s) => ({
      ...s,
      charge: neg(s.charge),
      paid: neg(s.paid),
      adjustments: s.adjustments.map((a) => ({ ...a, amount: neg(a.amount) })),
      amounts: [],
    })),
  };
}

/** A remittance from `payerId` (REF*2U) to the sample provider paying `claims`. */
export function remittance(
  claims: readonly ClaimPaymentInput[],
  options: {
    trace?: string;
    payerId?: string;
    payeeNpi?: string;
    plb?: { reason: string; amount: number; reference?: string }[];
  } = {},
): RemittanceInput {
  const plb = (options.plb ?? []).map((p) => ({
    provider: options.payeeNpi ?? SAMPLE_PROVIDER.npi,
    fiscalPeriodDate: '2026-12-31',
    ...p,
  }));
  const total =
    (claims.reduce((s, c) => s + Math.round(c.paid * 100), 0) -
      plb.reduce((s, p) => s + Math.round(p.amount * 100), 0)) /
    100;
  return {
    header: {
      payment: {
        handling: 'I',
        amount: Math.abs(total),
        creditDebit: total < 0 ? 'D' : 'C',
        method: 'ACH',
        format: 'CCP',
        date: '2026-12-03',
      },
      trace: { type: '1', number: options.trace ?? 'EFT-0001', originator: '1999999999' },
      references: [],
      payer: {
        name: 'ACME HEALTH PLAN',
        references: [{ qualifier: '2U', value: options.payerId ?? SAMPLE_PAYER.payerId }],
        contacts: [],
      },
      payee: {
        name: 'RIVERBEND INFUSION CENTER',
        idQualifier: 'XX',
        id: options.payeeNpi ?? SAMPLE_PROVIDER.npi,
        references: [{ qualifier: 'TJ', value: SAMPLE_PROVIDER.taxId }],
        contacts: [],
      },
    },
    bank: {
      payerRouting: '011000015',
      payerAccount: '123456',
      payeeRouting: '021000021',
      payeeAccount: '987654',
    },
    claims,
    providerAdjustments: () => plb,
  };
}

export const WRITE_OPTIONS: Write835Options = {
  sender: { id: 'ACMEHEALTH' },
  receiver: { id: 'RIVERBEND' },
  controlNumbers: { isa: 101, gs: 101 },
  now: NOW,
  usage: 'T',
};

export interface CliDataDir {
  readonly dir: string;
  /** The environment of a CLI child on this directory (its config, its data folder). */
  readonly env: NodeJS.ProcessEnv;
  /** The embedded store the CLI opens. */
  readonly storePath: string;
  remove(): void;
}

/**
 * A data directory and config file for `npm run cli -- …` children, with the posting tests'
 * tenant as an operator's config file spells it (ZIP+4 and phone as digits only), `tenant` merged
 * over it; the CLI's clock at `clockAt` when given.
 */
export function cliDataDir(
  prefix: string,
  options: { tenant?: Record<string, unknown>; clockAt?: Date } = {},
): CliDataDir {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const config = path.join(dir, 'dripline.json');
  const tenant = TENANTS[0];
  writeFileSync(
    config,
    JSON.stringify({
      tenants: [
        {
          id: TENANT,
          name: tenant?.name,
          billing: {
            ...tenant?.billing,
            phone: '2175550100',
            address: { ...tenant?.billing?.address, postalCode: '627011234' },
          },
          payers: tenant?.payers,
          ...options.tenant,
        },
      ],
    }),
  );
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  return {
    dir,
    storePath: path.join(dir, 'data', 'dripline.sqlite'),
    env: {
      PATH: process.env['PATH'] ?? '',
      DRIPLINE_CONFIG: config,
      DATA_DIR: path.join(dir, 'data'),
      PUBLIC_URL: 'http://127.0.0.1:1',
      ...(options.clockAt ? { CLOCK_OFFSET_MS: String(options.clockAt.getTime() - Date.now()) } : {}),
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
