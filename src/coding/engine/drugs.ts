/**
 * Drug lines (R9–R12): the HCPCS code of the catalog drug matched from the NDC actually used, units
 * = ceil(dose / billing unit) after unit conversion, JW/JZ as ./waste-modifiers.ts plans them from
 * the discarded amount (documented, else computed from the package size) and the payer's rule —
 * the reading the claim scrubber checks against — the 11-digit NDC with its unit qualifier and
 * quantity (R11), and the tenant's 340B modifier (R12.1).
 */
import type { CodingTables, DrugEntry, DrugPackage, PayerRuleSet } from '../tables/types.ts';
import type { CodingIssue, NdcLine, TenantCodingOptions } from '../types.ts';
import type { Classified } from './classify.ts';
import type { DraftLine } from './draft.ts';
import { ceilUnits, convert, round3 } from './units.ts';
import type { Amount, Concentration } from './units.ts';
import { rationale } from './sources.ts';
import { planWasteModifiers } from './waste-modifiers.ts';

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
  readonly drug: DrugEntry;
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

  for (const { item, dateOfService, encounterId, diagnoses } of items) {
    const { adm, drug, pkg } = item;
    const where = { encounterId: adm.encounterId, administrationId: adm.id };
    if (!adm.dose || !(adm.dose.value > 0)) {
      issues.push({
        severity: 'error',
        code: 'missing-dose',
        message: `Administration ${adm.id} (${drug.name}) documents no dose: the drug line is held; the administration is coded`,
        ...where,
        rule: 'R9.1',
      });
      continue;
    }
    const conc = concentrationOf(drug, pkg);
    const inBillingUnit = convert(adm.dose, drug.billingUnit.unit, conc);
    if (inBillingUnit === undefined) {
      issues.push({
        severity: 'error',
        code: 'unconvertible-dose',
        message: `Dose ${adm.dose.value} ${adm.dose.unit} of ${drug.name} (${adm.id}) cannot be converted to the billing unit ${drug.billingUnit.value} ${drug.billingUnit.unit}: the drug line is held`,
        ...where,
        rule: 'R9.1',
      });
      continue;
    }
    const doseBilling = inBillingUnit / drug.billingUnit.value;

    // Waste (R10.1): documented, else computed from the container: packages needed × size − dose.
    let wasteBilling: number | undefined;
    let wasteAmount: Amount | undefined;
    let packages: number | undefined;
    const container = containerOf(item);
    const containerInDose = container ? convert(container, adm.dose.unit, conc) : undefined;
    if (containerInDose && containerInDose > 0) {
      packages = ceilUnits(adm.dose.value / containerInDose);
    }
    if (adm.discarded) {
      const w = convert(adm.discarded, drug.billingUnit.unit, conc);
      if (w === undefined) {
        issues.push({
          severity: 'warning',
          code: 'unconvertible-waste',
          message: `Discarded amount ${adm.discarded.value} ${adm.discarded.unit} of ${adm.id} cannot be converted to ${drug.billingUnit.unit}`,
          ...where,
          rule: 'R10.1',
        });
      } else {
        wasteBilling = w / drug.billingUnit.value;
        wasteAmount = adm.discarded;
        if (containerInDose && containerInDose > 0) {
          const discardedInDose = convert(adm.discarded, adm.dose.unit, conc);
          if (discardedInDose !== undefined) {
            packages = ceilUnits((adm.dose.value + discardedInDose) / containerInDose);
          }
        }
      }
    } else if (packages !== undefined && containerInDose) {
      const w = packages * containerInDose - adm.dose.value;
      wasteAmount = { value: Math.max(0, w), unit: adm.dose.unit };
      const wb = convert(wasteAmount, drug.billingUnit.unit, conc);
      wasteBilling = wb === undefined ? undefined : wb / drug.billingUnit.value;
    }

    let ndcDose: number | undefined;
    let ndcWaste: number | undefined;
    if (pkg) {
      ndcDose = ndcAmount(adm.dose, pkg, conc);
      ndcWaste = wasteAmount ? ndcAmount(wasteAmount, pkg, conc) : 0;
      if (pkg.ndcUnit === 'UN') {
        const pkgInDose = convert(pkg.contains, adm.dose.unit, conc);
        ndcDose = pkgInDose ? adm.dose.value / pkgInDose : undefined;
        packages ??= ndcDose !== undefined ? ceilUnits(ndcDose) : undefined;
      }
    }

    const key = JSON.stringify([encounterId, dateOfService, drug.key, pkg?.ndc11 ?? '']);
    const acc = groups.get(key);
    const doseText = `${adm.dose.value} ${adm.dose.unit}${adm.discarded ? ` (${adm.discarded.value} ${adm.discarded.unit} discarded)` : ''}`;
    if (!acc) {
      groups.set(key, {
        drug,
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
    }
  }

  const lines: DraftLine[] = [];
  for (const acc of groups.values()) {
    const { drug, pkg } = acc;
    const bu = `${drug.billingUnit.value} ${drug.billingUnit.unit}`;
    const units = ceilUnits(acc.doseBilling);
    const dmeNote = ctx.dmeBenefit
      ? '; Medicare home infusion: the drug is billed under the DME benefit (R15.1)'
      : '';
    const waste = acc.wasteBilling;
    const plan = planWasteModifiers({
      rule: payer.wasteModifiers,
      container: drug.container,
      dateOfService: acc.dateOfService,
      doseUnits: acc.doseBilling,
      wasteUnits: waste,
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
    } else if (plan.kind === 'none' && plan.rule === 'R10.3') {
      rules.push('R10.3');
      wasteText = '; multi-dose container: neither JW nor JZ (R10.3)';
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
    lines.push({
      kind: 'drug',
      system: 'HCPCS',
      code: drug.hcpcs,
      label: drug.hcpcsLabel,
      units,
      modifiers,
      dateOfService: acc.dateOfService,
      encounterId: acc.encounterId,
      administrationIds: acc.ids,
      ...(ndc ? { ndc } : {}),
      diagnoses: acc.diagnoses,
      rationale: rationale(
        rules,
        `${drug.name} ${acc.doseText.join(' + ')} = ${round3(acc.doseBilling)} × ${bu} → ${units} unit(s) (rounded up, R9.2)${wasteText}${ndcText}${dmeNote}`,
        { amounts },
      ),
      revenueHint: `drug:${drug.therapyClass}`,
      at: acc.at,
    });
    if (jwUnits > 0) {
      lines.push({
        kind: 'drug-waste',
        system: 'HCPCS',
        code: drug.hcpcs,
        label: drug.hcpcsLabel,
        units: jwUnits,
        modifiers: ['JW', ...(m340 ? [m340] : [])],
        dateOfService: acc.dateOfService,
        encounterId: acc.encounterId,
        administrationIds: acc.ids,
        ...(ndcWaste ? { ndc: ndcWaste } : {}),
        diagnoses: acc.diagnoses,
        rationale: rationale(
          m340 ? ['R10.1', 'R12.1'] : ['R10.1'],
          `${drug.name}: ${round3(waste ?? 0)} × ${bu} ${acc.wasteDocumented ? 'documented as discarded' : 'discarded (computed: packages used × package size − dose)'} from a single-dose container; dose + waste = ${units + jwUnits} unit(s), of which ${jwUnits} discarded → JW line${dmeNote}`,
          { amounts: { wasteBillingUnits: round3(waste ?? 0), jwUnits } },
        ),
        revenueHint: `drug-waste:${drug.therapyClass}`,
        at: acc.at,
      });
    }
  }
  return { lines, issues };
}
