/**
 * Drug lines (R9–R12): the HCPCS code resolved for the drug (resolve.ts), units = ceil(dose in
 * billing units) (billing.ts: conversions, per-administration and per-package codes), JW/JZ as
 * ./waste-modifiers.ts plans them from the discarded amount (documented, else computed from the
 * package size) and the payer's rule — the reading the claim scrubber checks against — the 11-digit
 * NDC with its unit qualifier and quantity (R11), and the tenant's 340B modifier (R12.1). On
 * institutional claims a drug OPPS packages (status N) is still reported, under revenue code 0250
 * with an expected payment of zero and without JW/JZ (R14.2, R10.3); every drug line carries its
 * Medicare reference payment (payment.ts). A drug line whose units cannot be known is held (units
 * 0, `hold`), not dropped.
 */
import type { CodingTables, DrugEntry, DrugPackage, PayerRuleSet } from '../tables/types.ts';
import type { CodingIssue, NdcLine, TenantCodingOptions } from '../types.ts';
import type { Classified } from './classify.ts';
import { draftLine } from './draft.ts';
import type { DraftLine } from './draft.ts';
import { ceilUnits, convert, round3 } from './units.ts';
import type { Amount, Concentration } from './units.ts';
import { rationale } from './sources.ts';
import { planWasteModifiers } from './waste-modifiers.ts';
import { doseInBillingUnits } from './billing.ts';
import { expectedPayment, isPackaged } from './payment.ts';
import { describeBillingUnit } from '../cms/dosage.ts';

export interface DrugItem {
  readonly item: Classified;
  readonly dateOfService: string;
  readonly encounterId: string;
  readonly diagnoses: readonly string[];
}

export interface DrugContext {
  readonly tables: CodingTables;
  readonly payer: PayerRuleSet;
  readonly options: TenantCodingOptions;
  /** Medicare home infusion: the drug goes to the DME benefit (R15.1) — noted on the line. */
  readonly dmeBenefit: boolean;
  /** Hospital outpatient (UB-04): OPPS packaging applies (R14.2). */
  readonly institutional: boolean;
}

function concentrationOf(drug: DrugEntry, pkg: DrugPackage | undefined): Concentration | undefined {
  const toConc = (p: DrugPackage): Concentration | undefined =>
    p.volume && p.volume.value > 0 ? { contains: p.contains, volumeMl: p.volume.value } : undefined;
  if (pkg) {
    return toConc(pkg);
  }
  // Without the package used, a concentration is only trusted when every package of the drug agrees.
  const all = drug.packages.map(toConc);
  const first = all[0];
  if (!first || all.some((c) => !c)) {
    return undefined;
  }
  const perMl = (c: Concentration): number | undefined => {
    const v = convert(c.contains, first.contains.unit);
    return v === undefined ? undefined : v / c.volumeMl;
  };
  const ref = perMl(first);
  return all.every((c) => c && ref !== undefined && Math.abs((perMl(c) ?? NaN) - ref) < 1e-9)
    ? first
    : undefined;
}

/** The container the dose came from: the documented package size, the matched package, or the drug's only size. */
function containerOf(item: Classified): Amount | undefined {
  if (item.adm.packageSize) {
    return item.adm.packageSize;
  }
  if (item.pkg) {
    return item.pkg.contains;
  }
  const sizes = new Set(item.drug.packages.map((p) => `${p.contains.value} ${p.contains.unit}`));
  return sizes.size === 1 ? item.drug.packages[0]?.contains : undefined;
}

interface Accumulated {
  readonly item: Classified;
  readonly drug: DrugEntry;
  readonly hcpcs: string;
  /** The billing unit as an amount (amount codes), for the waste arithmetic and the rationale. */
  readonly bu: Amount | undefined;
  readonly pkg?: DrugPackage;
  readonly encounterId: string;
  readonly dateOfService: string;
  readonly diagnoses: readonly string[];
  ids: string[];
  doseBilling: number;
  /** Waste in billing units; undefined once any administration's waste is unknown. */
  wasteBilling: number | undefined;
  wasteDocumented: boolean;
  /** Packages used (UN) or amounts in the NDC unit, administered and discarded. */
  ndcDose: number | undefined;
  ndcWaste: number | undefined;
  packagesUsed: number | undefined;
  doseText: string[];
  notes: string[];
  at: number;
}

function ndcAmount(amount: Amount, pkg: DrugPackage, conc: Concentration | undefined): number | undefined {
  switch (pkg.ndcUnit) {
    case 'UN':
      return undefined; // packages, computed separately
    case 'ML':
      return convert(amount, 'mL', conc);
    case 'GR':
      return convert(amount, 'g', conc);
    case 'ME':
      return convert(amount, 'mg', conc);
    case 'F2':
      return convert(amount, '[iU]', conc);
  }
}

export function drugLines(
  ctx: DrugContext,
  items: readonly DrugItem[],
): { lines: DraftLine[]; issues: CodingIssue[] } {
  const { payer, options } = ctx;
  const issues: CodingIssue[] = [];
  const groups = new Map<string, Accumulated>();

  const heldLines: DraftLine[] = [];
  for (const { item, dateOfService, encounterId, diagnoses } of items) {
    const { adm, drug, pkg } = item;
    const where = { encounterId: adm.encounterId, administrationId: adm.id };
    const hcpcs = item.hcpcs;
    if (hcpcs === undefined) {
      issues.push({
        severity: 'error',
        code: 'unknown-drug',
        message: `The drug of administration ${adm.id} ("${adm.drug.text ?? adm.drug.ndc ?? adm.drug.rxnorm ?? 'nothing documented'}") has no HCPCS code Dripline can find: document the Medication's HCPCS code or the NDC of the package used (in the CMS crosswalk); the administration is coded, the drug line waits for the code`,
        ...where,
        rule: 'R9.1',
      });
      continue;
    }
    const conc: Concentration | undefined = adm.concentration ?? concentrationOf(drug, pkg);
    const container = containerOf(item);
    const counted = doseInBillingUnits(item, item.billing, conc, container);
    if (!counted.ok) {
      // The drug was given and its code is known: the line exists, held until its units are known.
      issues.push({
        severity: 'error',
        code: counted.code,
        message: `${drug.name} (${hcpcs}), administration ${adm.id}: ${counted.reason} — the drug line is held`,
        ...where,
        rule: 'R9.1',
      });
      heldLines.push(
        draftLine({
          kind: 'drug',
          system: 'HCPCS',
          code: hcpcs,
          label: item.cms?.label ?? drug.hcpcsLabel,
          units: 0,
          modifiers: [],
          dateOfService,
          encounterId,
          administrationIds: [adm.id],
          diagnoses,
          rationale: rationale(['R9.1'], `${drug.name}: held — ${counted.reason}`),
          hold: { code: counted.code, reason: counted.reason },
          at: item.start ?? 0,
        }),
      );
      continue;
    }
    if (counted.warning) {
      issues.push({ severity: 'warning', ...counted.warning, ...where, rule: 'R9.1' });
    }
    const bu: Amount | undefined =
      item.billing?.kind === 'amount' ? { value: item.billing.value, unit: item.billing.unit } : undefined;
    const doseBilling = counted.units;
    const dose: Amount = adm.dose && adm.dose.value > 0 ? adm.dose : { value: 1, unit: '{administration}' };

    // Waste (R10.1): documented, else computed from the container: packages needed × size − dose.
    // Codes counted per administration or per package have no waste in billing units.
    let wasteBilling: number | undefined;
    let wasteAmount: Amount | undefined;
    let packages: number | undefined;
    const containerInDose = container ? convert(container, dose.unit, conc) : undefined;
    if (containerInDose && containerInDose > 0) {
      packages = ceilUnits(dose.value / containerInDose);
    }
    if (counted.counted) {
      wasteBilling = counted.counted === 'administration' && adm.discarded ? undefined : 0;
    } else if (adm.discarded && bu) {
      const w = convert(adm.discarded, bu.unit, conc);
      if (w === undefined) {
        issues.push({
          severity: 'warning',
          code: 'unconvertible-waste',
          message: `Discarded amount ${adm.discarded.value} ${adm.discarded.unit} of ${adm.id} cannot be converted to ${bu.unit}`,
          ...where,
          rule: 'R10.1',
        });
      } else {
        wasteBilling = w / bu.value;
        wasteAmount = adm.discarded;
        if (containerInDose && containerInDose > 0) {
          const discardedInDose = convert(adm.discarded, dose.unit, conc);
          if (discardedInDose !== undefined) {
            packages = ceilUnits((dose.value + discardedInDose) / containerInDose);
          }
        }
      }
    } else if (packages !== undefined && containerInDose && bu) {
      const w = packages * containerInDose - dose.value;
      wasteAmount = { value: Math.max(0, w), unit: dose.unit };
      const wb = convert(wasteAmount, bu.unit, conc);
      wasteBilling = wb === undefined ? undefined : wb / bu.value;
    }

    let ndcDose: number | undefined;
    let ndcWaste: number | undefined;
    if (pkg) {
      ndcDose = ndcAmount(dose, pkg, conc);
      ndcWaste = wasteAmount ? ndcAmount(wasteAmount, pkg, conc) : 0;
      if (pkg.ndcUnit === 'UN') {
        const pkgInDose = convert(pkg.contains, dose.unit, conc);
        ndcDose = pkgInDose
          ? dose.value / pkgInDose
          : counted.counted === 'package'
            ? doseBilling
            : undefined;
        packages ??= ndcDose !== undefined ? ceilUnits(ndcDose) : undefined;
      }
    }

    const key = `${encounterId}\u0000${dateOfService}\u0000${drug.key}\u0000${hcpcs}\u0000${pkg?.ndc11 ?? ''}`;
    const acc = groups.get(key);
    const doseText = `${adm.dose ? `${adm.dose.value} ${adm.dose.unit}` : 'no dose documented'}${adm.discarded ? ` (${adm.discarded.value} ${adm.discarded.unit} discarded)` : ''}`;
    const notes = [
      ...(counted.note ? [counted.note] : []),
      ...(item.quarter.note ? [item.quarter.note] : []),
    ];
    if (!acc) {
      groups.set(key, {
        item,
        drug,
        hcpcs,
        bu,
        ...(pkg ? { pkg } : {}),
        encounterId,
        dateOfService,
        diagnoses,
        ids: [adm.id],
        doseBilling,
        wasteBilling,
        wasteDocumented: adm.discarded !== undefined,
        ndcDose,
        ndcWaste,
        packagesUsed: packages,
        doseText: [doseText],
        notes,
        at: item.start ?? 0,
      });
    } else {
      acc.ids.push(adm.id);
      acc.doseBilling += doseBilling;
      acc.wasteBilling =
        acc.wasteBilling === undefined || wasteBilling === undefined
          ? undefined
          : acc.wasteBilling + wasteBilling;
      acc.wasteDocumented &&= adm.discarded !== undefined;
      acc.ndcDose = acc.ndcDose === undefined || ndcDose === undefined ? undefined : acc.ndcDose + ndcDose;
      acc.ndcWaste =
        acc.ndcWaste === undefined || ndcWaste === undefined ? undefined : acc.ndcWaste + ndcWaste;
      acc.packagesUsed =
        acc.packagesUsed === undefined || packages === undefined ? undefined : acc.packagesUsed + packages;
      acc.doseText.push(doseText);
      for (const n of notes) {
        if (!acc.notes.includes(n)) {
          acc.notes.push(n);
        }
      }
    }
  }

  const lines: DraftLine[] = [...heldLines];
  for (const acc of groups.values()) {
    const { drug, pkg, item } = acc;
    const bu = item.billing
      ? describeBillingUnit(item.billing)
      : `${drug.billingUnit.value} ${drug.billingUnit.unit}`;
    const units = ceilUnits(acc.doseBilling);
    const dmeNote = ctx.dmeBenefit
      ? '; Medicare home infusion: the drug is billed under the DME benefit (R15.1)'
      : '';
    // OPPS packaged (status N) on an institutional claim: reported, not paid, no JW/JZ (R14.2, R10.3).
    const packaged = ctx.institutional && isPackaged(item.cms);
    const waste = acc.wasteBilling;
    const plan = planWasteModifiers({
      rule: payer.wasteModifiers,
      container: drug.container,
      dateOfService: acc.dateOfService,
      doseUnits: acc.doseBilling,
      wasteUnits: waste,
      packaged,
    });
    const jwUnits = plan.kind === 'jw-line' ? plan.jwUnits : 0;
    const jzFrom = payer.wasteModifiers.jzRequiredFrom ?? '';
    const modifiers: string[] = [];
    const rules: string[] = ['R9.1', 'R9.2'];
    let wasteText = '';
    if (plan.kind === 'jz') {
      modifiers.push('JZ');
      rules.push(plan.rule);
      wasteText = plan.wasteInsideUnit
        ? `; the discarded amount fits inside the billed unit: no JW line, the line takes JZ (required from ${jzFrom}, R10.4)`
        : `; nothing discarded from the single-dose container → JZ (required from ${jzFrom}, R10.2)`;
    } else if (plan.kind === 'jw-line') {
      wasteText = `; discarded amount on a separate JW line (R10.1)`;
    } else if (plan.kind === 'none' && plan.rule === 'R10.4') {
      rules.push('R10.4');
      wasteText = `; the discarded amount fits inside the billed unit: no JW line (R10.4)`;
    } else if (plan.kind === 'exempt') {
      rules.push('R10.3');
      wasteText =
        plan.reason === 'packaged'
          ? '; packaged under OPPS (status N): neither JW nor JZ (R10.3)'
          : '; multi-dose container: neither JW nor JZ (R10.3)';
    } else if (plan.kind === 'unknown-waste') {
      issues.push({
        severity: 'warning',
        code: 'waste-undocumented',
        message: `${drug.name} (${acc.ids.join(', ')}): single-dose container with neither a documented discarded amount nor a known package size — JW/JZ left off (R10.1, R10.2)`,
        encounterId: acc.encounterId,
        ...(acc.ids[0] ? { administrationId: acc.ids[0] } : {}),
        rule: 'R10.1',
      });
    }
    const modifierPlanned = plan.kind === 'jw-line' || plan.kind === 'jz' || plan.kind === 'unknown-waste';
    if (modifierPlanned && drug.key.startsWith('cms-')) {
      issues.push({
        severity: 'warning',
        code: 'container-assumed',
        message: `${drug.name} (${acc.hcpcs}): the CMS files do not say whether its container is single- or multi-dose; single-dose was assumed for ${modifiers.includes('JZ') ? 'JZ' : 'JW/JZ'} (R10.1–R10.3) — confirm, or add the drug to the catalog`,
        encounterId: acc.encounterId,
        ...(acc.ids[0] ? { administrationId: acc.ids[0] } : {}),
        rule: 'R10.3',
      });
    }
    const m340 = options.modifier340B;
    if (m340) {
      modifiers.push(m340);
      rules.push('R12.1');
    }

    let ndc: NdcLine | undefined;
    let ndcWaste: NdcLine | undefined;
    if (pkg) {
      if (pkg.ndcUnit === 'UN') {
        if (jwUnits > 0 && acc.ndcDose !== undefined && acc.packagesUsed !== undefined) {
          const given = round3(acc.ndcDose);
          ndc = { ndc11: pkg.ndc11, unit: 'UN', quantity: given };
          ndcWaste = {
            ndc11: pkg.ndc11,
            unit: 'UN',
            quantity: round3(Math.max(0, acc.packagesUsed - given)),
          };
        } else if (acc.packagesUsed !== undefined) {
          ndc = { ndc11: pkg.ndc11, unit: 'UN', quantity: acc.packagesUsed };
        }
      } else if (acc.ndcDose !== undefined) {
        ndc = { ndc11: pkg.ndc11, unit: pkg.ndcUnit, quantity: round3(acc.ndcDose) };
        if (jwUnits > 0 && acc.ndcWaste !== undefined) {
          ndcWaste = { ndc11: pkg.ndc11, unit: pkg.ndcUnit, quantity: round3(acc.ndcWaste) };
        }
      }
      if (ndc) {
        rules.push('R11.1', 'R11.4');
      }
    }
    if (!ndc && payer.ndcRequired) {
      issues.push({
        severity: 'warning',
        code: 'missing-ndc',
        message: `${drug.name} (${acc.ids.join(', ')}): the payer requires the NDC of the package used, and none from the catalog was documented (R11.5)`,
        encounterId: acc.encounterId,
        ...(acc.ids[0] ? { administrationId: acc.ids[0] } : {}),
        rule: 'R11.5',
      });
    }
    const ndcText = ndc ? `; NDC ${ndc.ndc11} ${ndc.unit} ${ndc.quantity}` : '';
    const amounts: Record<string, number> = { billingUnits: round3(acc.doseBilling) };
    if (waste !== undefined) {
      amounts.wasteBillingUnits = round3(waste);
    }
    const payment = expectedPayment(item.cms, item.quarter.id, units, ctx.institutional);
    if (payment.amount !== undefined) {
      amounts.expectedPayment = payment.amount;
    }
    const notes = acc.notes.length > 0 ? `; ${acc.notes.join('; ')}` : '';
    const paymentText = packaged
      ? '; OPPS status N: packaged, reported under revenue code 0250 with no separate payment (R14.2)'
      : payment.perUnit !== undefined
        ? `; Medicare payment limit ${payment.perUnit} per unit (${payment.quarter}) → ${payment.amount ?? 0}`
        : '';
    const revenueHint = packaged
      ? drug.therapyClass === 'hydration'
        ? 'drug:hydration'
        : 'drug-packaged'
      : `drug:${drug.therapyClass}`;
    lines.push(
      draftLine({
        kind: 'drug',
        system: 'HCPCS',
        code: acc.hcpcs,
        label: drug.hcpcsLabel,
        units,
        modifiers,
        dateOfService: acc.dateOfService,
        encounterId: acc.encounterId,
        administrationIds: acc.ids,
        ndc,
        diagnoses: acc.diagnoses,
        rationale: rationale(
          rules,
          `${drug.name} ${acc.doseText.join(' + ')} = ${round3(acc.doseBilling)} × ${bu} → ${units} unit(s) (rounded up, R9.2)${notes}${wasteText}${ndcText}${paymentText}${dmeNote}`,
          { amounts },
        ),
        revenueHint,
        payment,
        at: acc.at,
      }),
    );
    if (jwUnits > 0) {
      const wastePayment = expectedPayment(item.cms, item.quarter.id, jwUnits, ctx.institutional);
      lines.push(
        draftLine({
          kind: 'drug-waste',
          system: 'HCPCS',
          code: acc.hcpcs,
          label: drug.hcpcsLabel,
          units: jwUnits,
          modifiers: ['JW', ...(m340 ? [m340] : [])],
          dateOfService: acc.dateOfService,
          encounterId: acc.encounterId,
          administrationIds: acc.ids,
          ndc: ndcWaste,
          diagnoses: acc.diagnoses,
          rationale: rationale(
            m340 ? ['R10.1', 'R12.1'] : ['R10.1'],
            `${drug.name}: ${round3(waste ?? 0)} × ${bu} ${acc.wasteDocumented ? 'documented as discarded' : 'discarded (computed: packages used × package size − dose)'} from a single-dose container; dose + waste = ${units + jwUnits} unit(s), of which ${jwUnits} discarded → JW line${dmeNote}`,
            {
              amounts: {
                wasteBillingUnits: round3(waste ?? 0),
                jwUnits,
                ...(wastePayment.amount !== undefined ? { expectedPayment: wastePayment.amount } : {}),
              },
            },
          ),
          revenueHint: `drug-waste:${drug.therapyClass}`,
          payment: wastePayment,
          at: acc.at,
        }),
      );
    }
  }
  return { lines, issues };
}
