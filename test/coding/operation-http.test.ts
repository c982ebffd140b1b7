/**
 * The whole scenario table through FHIR and HTTP: every scenario's CodingInput becomes a realistic
 * collection Bundle (fhir-bundle.ts), is POSTed to `$infusion-charges`, and the draft Claim's items,
 * the ChargeItems and the issues must equal what the engine codes from the input directly. Any
 * difference is a mapping bug in extract / emit (or the bundle builder). Also the operation's bad
 * input, auth and method handling, and profile validation of what it emits.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { validateResource, validateTypedValue } from '@medplum/core';
import type {
  Bundle,
  ChargeItem,
  Claim,
  Extension,
  OperationOutcome,
  Parameters,
  Resource,
} from '@medplum/fhirtypes';
import { codeEncounters } from '../../src/coding/engine/index.ts';
import { bundleResources, extractCodingInput } from '../../src/coding/fhir/extract.ts';
import { chargeItemId } from '../../src/coding/fhir/emit.ts';
import { infusionCharges, parseInfusionChargesParameters } from '../../src/coding/operation.ts';
import type { CodingInput, CodingResult } from '../../src/coding/types.ts';
import { getOwnProfile, loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { SCENARIOS } from './engine/scenario-table.ts';
import type { Scenario } from './engine/scenario-table.ts';
import { TABLES } from './engine/helpers.ts';
import { EHR_BASE, PATIENT_ID, toFhirBundle } from './fhir-bundle.ts';
import {
  EXT_CHARGE_LINE_KEY,
  EXT_CHARGE_MODIFIER,
  EXT_CODING_RATIONALE,
  PROFILE_CHARGE_ITEM,
  STRUCTURE_DEFINITION_BASE,
} from '../../src/contract/canonical.ts';

const NOW = new Date('2025-03-12T06:00:00Z');

/** What a claim line is, compared between the engine and the Claim: everything but the words. */
interface LineView {
  key: string;
  code: string;
  units: number;
  modifiers: string[];
  date: string;
  encounter: string;
  ndc?: string;
  revenue?: string;
  diagnoses: string[];
}

function engineView(result: CodingResult, institutional: boolean): LineView[] {
  return result.lines.map((l) => ({
    key: l.key,
    code: `${l.code.system === 'CPT' ? 'cpt' : 'hcpcs'}:${l.code.code}`,
    units: l.units,
    modifiers: [...l.modifiers],
    date: l.dateOfService,
    encounter: `Encounter/${l.encounterId}`,
    ...(l.ndc ? { ndc: `${l.ndc.ndc11} ${l.ndc.unit}${l.ndc.quantity}` } : {}),
    ...(institutional && l.revenueCode ? { revenue: l.revenueCode } : {}),
    diagnoses: l.diagnoses.slice(0, 4),
  }));
}

function claimView(claim: Claim): LineView[] {
  const diagnosis = new Map(
    (claim.diagnosis ?? []).map((d) => [d.sequence, d.diagnosisCodeableConcept?.coding?.[0]?.code ?? '?']),
  );
  return (claim.item ?? []).map((item) => {
    const coding = item.productOrService.coding?.[0];
    const detail = item.detail?.[0];
    return {
      key: item.extension?.find((e) => e.url === EXT_CHARGE_LINE_KEY)?.valueString ?? '?',
      code: `${coding?.system === 'http://www.ama-assn.org/go/cpt' ? 'cpt' : 'hcpcs'}:${coding?.code}`,
      units: item.quantity?.value ?? NaN,
      modifiers: (item.modifier ?? []).map((m) => m.coding?.[0]?.code ?? '?'),
      date: item.servicedDate ?? '?',
      encounter: item.encounter?.[0]?.reference ?? '?',
      ...(detail
        ? {
            ndc: `${detail.productOrService.coding?.[0]?.code} ${detail.quantity?.code}${detail.quantity?.value}`,
          }
        : {}),
      ...(item.revenue ? { revenue: item.revenue.coding?.[0]?.code ?? '?' } : {}),
      diagnoses: (item.diagnosisSequence ?? []).map((s) => diagnosis.get(s) ?? '?'),
    };
  });
}

function issueView(result: CodingResult): string[] {
  return result.issues
    .map((i) => {
      const where = i.administrationId
        ? `MedicationAdministration/${i.administrationId}`
        : i.encounterId
          ? `Encounter/${i.encounterId}`
          : '';
      return `${i.severity} ${i.code} ${where}`;
    })
    .sort();
}

function outcomeView(outcome: OperationOutcome): string[] {
  return outcome.issue
    .filter((i) => i.details?.coding?.[0]?.code !== undefined)
    .map((i) => `${i.severity} ${i.details?.coding?.[0]?.code} ${i.expression?.[0] ?? ''}`)
    .sort();
}

function parameters(bundle: Bundle, extra: Parameters['parameter'] = []): Parameters {
  return { resourceType: 'Parameters', parameter: [...extra, { name: 'bundle', resource: bundle }] };
}

interface Output {
  claim: Claim;
  chargeItems: ChargeItem[];
  issues: OperationOutcome;
}

function split(output: Parameters): Output {
  const of = (name: string) => (output.parameter ?? []).filter((p) => p.name === name).map((p) => p.resource);
  return {
    claim: of('claim')[0] as Claim,
    chargeItems: of('chargeItem') as ChargeItem[],
    issues: of('issues')[0] as OperationOutcome,
  };
}

/**
 * Scenarios whose engine input the operation cannot receive over HTTP: tenant coding options
 * (340B modifier) and substituted rule tables have no operation parameter. They run through the
 * operation's code (`parseInfusionChargesParameters` + `infusionCharges`) in process instead.
 */
function inProcessOnly(s: Scenario): string | undefined {
  if (s.tables) {
    return 'substituted rule tables';
  }
  if (s.input.options?.modifier340B) {
    return 'tenant 340B option';
  }
  if (s.input.options?.familyOverrides) {
    return 'tenant family overrides';
  }
  return undefined;
}

function expectSame(s: Scenario, index: number, output: Output): void {
  const tables = s.tables ?? TABLES;
  const expected = codeEncounters(s.input, tables);
  const institutional = s.input.setting === 'hospital-outpatient';
  // Held lines (units unknown) are planned ChargeItems, not claim lines.
  const billable = { ...expected, lines: expected.lines.filter((l) => !l.hold) };
  expect(claimView(output.claim)).toEqual(engineView(billable, institutional));
  expect(output.chargeItems.map((c) => c.status)).toEqual(
    expected.lines.map((l) => (l.hold ? 'planned' : 'billable')),
  );
  expect(output.claim.type.coding?.[0]?.code).toBe(institutional ? 'institutional' : 'professional');
  expect(output.claim.patient.reference).toBe(`Patient/${PATIENT_ID}`);
  expect(output.claim.insurance[0]?.coverage.reference).toBe('Coverage/cov-primary');
  // One ChargeItem per line, identified by the line key, with the same code, units and modifiers.
  expect(output.chargeItems.map((c) => c.id)).toEqual(expected.lines.map((l) => chargeItemId(l)));
  expect(
    output.chargeItems.map((c) => [
      c.code.coding?.[0]?.code,
      c.quantity?.value,
      (c.extension ?? []).filter((e) => e.url === EXT_CHARGE_MODIFIER).map((e) => e.valueCoding?.code),
      c.occurrenceDateTime,
      (c.service ?? []).map((r) => r.reference),
    ]),
  ).toEqual(
    expected.lines.map((l) => [
      l.code.code,
      l.units,
      l.modifiers,
      l.dateOfService,
      l.administrationIds.map((id) => `MedicationAdministration/${id}`),
    ]),
  );
  expect(outcomeView(output.issues)).toEqual(issueView(expected));
  // The scenario's own expectations hold on the FHIR side too (issue codes named by the table).
  for (const code of s.issues ?? []) {
    expect(output.issues.issue.map((i) => i.details?.coding?.[0]?.code)).toContain(code);
  }
  expect(index).toBeGreaterThanOrEqual(0);
}

/** Half the scenarios name the setting; the other half leave it to Encounter.type. */
function settingParameter(s: Scenario, index: number): Parameters['parameter'] {
  return index % 2 === 0 ? [{ name: 'setting', valueCode: s.input.setting }] : [];
}

let server: TestServer;
let token: string;
const url = (): string => `${server.fhir}/Encounter/$infusion-charges`;

beforeAll(async () => {
  loadFhirDefinitions();
  // A tenant that names no time zone: dates of service follow the offsets the bundle was written
  // in, as the engine reads the scenario (the sandbox tenant would date them in New York).
  server = await startTestServer({}, {}, { tenants: [{ id: 'scenarios', name: 'Scenario clinic' }] });
  token = await server.token('scenarios', 'system/Encounter.r system/Claim.r system/ChargeItem.r');
});
afterAll(async () => {
  await server?.stop();
});

describe('every engine scenario through FHIR and $infusion-charges', () => {
  const indexed = SCENARIOS.map((s, i) => [s.name, s, i] as const);

  test('extract recovers an input that codes the same as the scenario (no HTTP)', () => {
    const mismatches: string[] = [];
    for (const [name, s] of indexed) {
      const bundle = toFhirBundle(s.input, { tables: TABLES });
      // Tenant options other than the offset (which extract reads off the documented instants).
      const { modifier340B, familyOverrides } = s.input.options ?? {};
      const extracted = extractCodingInput(bundleResources(bundle), {
        ...(modifier340B || familyOverrides
          ? {
              options: {
                ...(modifier340B ? { modifier340B } : {}),
                ...(familyOverrides ? { familyOverrides } : {}),
              },
            }
          : {}),
      });
      const tables = s.tables ?? TABLES;
      const a = engineView(codeEncounters(s.input, tables), s.input.setting === 'hospital-outpatient');
      const b = engineView(
        codeEncounters(extracted.input, tables),
        s.input.setting === 'hospital-outpatient',
      );
      if (JSON.stringify(a) !== JSON.stringify(b) || extracted.problems.length > 0) {
        mismatches.push(name);
      }
    }
    expect(mismatches).toEqual([]);
  });

  test.each(indexed.filter(([, s]) => inProcessOnly(s) === undefined))('%s', async (_name, s, i) => {
    const bundle = toFhirBundle(s.input, { tables: TABLES });
    const res = await fhirFetch(url(), token, {
      method: 'POST',
      body: parameters(bundle, settingParameter(s, i)),
    });
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('Parameters');
    expectSame(s, i, split(res.body as Parameters));
  });

  test.each(indexed.filter(([, s]) => inProcessOnly(s) !== undefined))(
    '(in process: no operation parameter for it) %s',
    (_name, s, i) => {
      const bundle = toFhirBundle(s.input, { tables: TABLES });
      const request = parseInfusionChargesParameters(parameters(bundle, settingParameter(s, i)));
      const output = infusionCharges(request, s.tables ?? TABLES, NOW, s.input.options);
      expectSame(s, i, split(output));
    },
  );

  test('the scenarios that cannot go over HTTP are few and named', () => {
    const skipped = SCENARIOS.filter((s) => inProcessOnly(s) !== undefined).map((s) => inProcessOnly(s));
    // Tenant options go over HTTP in tenant-options.test.ts (a configured tenant), not from a scenario.
    expect(skipped.length).toBeLessThanOrEqual(4);
  });
});

function extensionProblems(ext: Extension): string[] {
  const sd = getOwnProfile(ext.url);
  if (!sd) {
    return [`no StructureDefinition for ${ext.url}`];
  }
  try {
    validateTypedValue({ type: 'Extension', value: ext }, { profile: sd });
    return [];
  } catch (err: any) {
    return ((err?.outcome?.issue ?? []) as OperationOutcome['issue']).map(
      (i) => i.details?.text ?? String(err),
    );
  }
}

describe('what the operation emits conforms', () => {
  /** A busy office day: infliximab with waste, pushes, hydration, two encounters. */
  const busy = (): CodingInput => {
    const s = SCENARIOS.find((x) => x.name.startsWith('R10.1 documented discarded amount'));
    if (!s) {
      throw new Error('scenario R10.1 missing');
    }
    return s.input;
  };

  const validated = (resource: Resource, profile?: string): string[] => {
    try {
      const sd = profile ? getOwnProfile(profile) : undefined;
      if (profile && !sd) {
        return [`profile ${profile} not loaded`];
      }
      validateResource(resource, sd ? { profile: sd } : undefined);
      return [];
    } catch (err: any) {
      const issues = (err?.outcome?.issue ?? []) as OperationOutcome['issue'];
      return issues.length > 0
        ? issues.map((i) => `${i.details?.text ?? i.diagnostics} @ ${i.expression?.join(',') ?? ''}`)
        : [String(err)];
    }
  };

  test.each(
    SCENARIOS.filter((s) => inProcessOnly(s) === undefined)
      .filter((_s, i) => i % 7 === 0)
      .map((s) => [s.name, s] as const)
      .concat([['R10.1 waste (JW, NDC detail)', { name: 'busy', input: busy() }]]),
  )('ChargeItems validate against dripline-chargeitem and the Claim as base R4: %s', async (_name, s) => {
    const res = await fhirFetch(url(), token, {
      method: 'POST',
      body: parameters(toFhirBundle(s.input, { tables: TABLES })),
    });
    expect(res.status).toBe(200);
    const out = split(res.body as Parameters);
    for (const item of out.chargeItems) {
      expect(item.meta?.profile).toEqual([PROFILE_CHARGE_ITEM]);
      expect(validated(item, PROFILE_CHARGE_ITEM)).toEqual([]);
      expect(validated(item)).toEqual([]);
    }
    expect(validated(out.claim)).toEqual([]);
    expect(validated(out.issues)).toEqual([]);
  });

  test('every extension Dripline emits has a StructureDefinition in profiles/', async () => {
    const res = await fhirFetch(url(), token, {
      method: 'POST',
      body: parameters(toFhirBundle(busy(), { tables: TABLES }), [
        { name: 'setting', valueCode: 'hospital-outpatient' },
      ]),
    });
    const out = split(res.body as Parameters);
    const urls = new Set<string>();
    for (const r of [out.claim, ...out.chargeItems]) {
      JSON.stringify(r, (k, v: unknown) => {
        if (k === 'url' && typeof v === 'string' && v.startsWith(`${STRUCTURE_DEFINITION_BASE}/`)) {
          urls.add(v);
        }
        return v;
      });
    }
    expect([...urls].sort()).toEqual(expect.arrayContaining([EXT_CHARGE_LINE_KEY, EXT_CODING_RATIONALE]));
    for (const u of urls) {
      expect([u, getOwnProfile(u)?.url]).toEqual([u, u]);
    }
    // Each occurrence validates against its own definition.
    for (const r of [out.claim, ...out.chargeItems]) {
      const found: Extension[] = [];
      JSON.stringify(r, (_k, v: any) => {
        if (typeof v?.url === 'string' && v.url.startsWith('https://dripline.dev/')) {
          found.push(v as Extension);
        }
        return v;
      });
      for (const ext of found) {
        expect([ext.url, extensionProblems(ext)]).toEqual([ext.url, []]);
      }
    }
  });

  test('the extension definitions are enforced: a rationale without its rule fails', () => {
    const bad: Extension = {
      url: EXT_CODING_RATIONALE,
      extension: [{ url: 'text', valueString: 'no rule' }],
    };
    expect(extensionProblems(bad).join()).toMatch(/rule/);
    const twoKeys: Extension = { url: EXT_CHARGE_LINE_KEY };
    expect(extensionProblems(twoKeys).length).toBeGreaterThan(0);
  });
});

describe('$infusion-charges input, auth and method', () => {
  const scenario = SCENARIOS[0] as Scenario;
  const bundle = (): Bundle => toFhirBundle(scenario.input, { tables: TABLES });

  const expect400 = async (body: unknown, pattern: RegExp, raw?: string): Promise<void> => {
    const res = await fhirFetch(url(), token, {
      method: 'POST',
      ...(raw !== undefined
        ? { rawBody: raw, headers: { 'content-type': 'application/fhir+json' } }
        : { body }),
    });
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].severity).toBe('error');
    expect(
      res.body.issue.map((i: any) => `${i.details?.text ?? ''} ${i.diagnostics ?? ''}`).join('\n'),
    ).toMatch(pattern);
  };

  test('no body → 400 (415 when not even a FHIR JSON content type is sent)', async () => {
    const res = await fhirFetch(url(), token, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
    });
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].details.text).toMatch(/empty/);
    const bare = await fhirFetch(url(), token, { method: 'POST' });
    expect(bare.status).toBe(415);
    expect(bare.body.resourceType).toBe('OperationOutcome');
  });

  test('a body that is not Parameters → 400', async () => {
    await expect400(bundle(), /Parameters/);
  });

  test('an unknown parameter → 400', async () => {
    await expect400(parameters(bundle(), [{ name: 'tenant', valueCode: 'x' }]), /Unknown parameter "tenant"/);
  });

  test('a setting code outside the value set → 400', async () => {
    await expect400(
      parameters(bundle(), [{ name: 'setting', valueCode: 'inpatient' }]),
      /setting must be one of/,
    );
  });

  test('a payer code outside the value set → 400', async () => {
    await expect400(parameters(bundle(), [{ name: 'payer', valueCode: 'tricare' }]), /payer must be one of/);
  });

  test('setting given twice → 400', async () => {
    await expect400(
      parameters(bundle(), [
        { name: 'setting', valueCode: 'office' },
        { name: 'setting', valueCode: 'home' },
      ]),
      /only once/,
    );
  });

  test('a bundle that is not a collection → 400', async () => {
    await expect400(parameters({ ...bundle(), type: 'transaction' }), /collection Bundle/);
  });

  test('no bundle parameter → 400', async () => {
    await expect400(
      { resourceType: 'Parameters', parameter: [{ name: 'setting', valueCode: 'office' }] },
      /bundle/,
    );
  });

  test('a bundle with no Encounter → 400', async () => {
    const b = bundle();
    await expect400(
      parameters({ ...b, entry: (b.entry ?? []).filter((e) => e.resource?.resourceType !== 'Encounter') }),
      /no Encounter/,
    );
  });

  test('two patients in one bundle → 400', async () => {
    const b = bundle();
    const entry = (b.entry ?? []).map((e) =>
      e.resource?.resourceType === 'MedicationAdministration'
        ? { ...e, resource: { ...e.resource, subject: { reference: 'Patient/someone-else' } } }
        : e,
    );
    await expect400(parameters({ ...b, entry }), /one patient/);
  });

  test('no setting and none derivable from Encounter.type → 400', async () => {
    const b = bundle();
    const entry = (b.entry ?? []).map((e) => {
      if (e.resource?.resourceType !== 'Encounter') {
        return e;
      }
      const { type: _type, ...rest } = e.resource;
      return { ...e, resource: rest };
    });
    await expect400(parameters({ ...b, entry }), /setting is required/);
  });

  test('malformed JSON → 400', async () => {
    await expect400(undefined, /./, '{"resourceType": "Parameters", ');
  });

  /** Rewrites a bundle the way many EHRs write collections: urn:uuid fullUrls and references, optionally no ids. */
  const asUuidBundle = (b: Bundle, keepIds: boolean): Bundle => {
    const uuidOf = new Map<string, string>();
    for (const e of b.entry ?? []) {
      const r = e.resource as Resource & { id: string };
      const hex = createHash('sha256').update(`${r.resourceType}/${r.id}`).digest('hex');
      uuidOf.set(
        `${r.resourceType}/${r.id}`,
        `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`,
      );
    }
    const text = JSON.stringify(b, (k, v: unknown) =>
      k === 'reference' && typeof v === 'string' ? (uuidOf.get(v) ?? v) : v,
    );
    const copy = JSON.parse(text) as Bundle;
    return {
      ...copy,
      entry: (copy.entry ?? []).map((e) => {
        const r = e.resource as Resource & { id: string };
        const fullUrl = uuidOf.get(`${r.resourceType}/${r.id}`) as string;
        const { id: _id, ...noId } = r;
        return { fullUrl, resource: keepIds ? r : noId };
      }),
    };
  };

  test('urn:uuid references in a collection Bundle resolve (same lines as relative references)', async () => {
    const s = SCENARIOS.find((x) => x.name.startsWith('R2.4 office: two encounters the same day'));
    const plain = toFhirBundle(s!.input, { tables: TABLES });
    const expected = engineView(codeEncounters(s!.input, TABLES), false);
    const withIds = await fhirFetch(url(), token, {
      method: 'POST',
      body: parameters(asUuidBundle(plain, true)),
    });
    expect(withIds.status).toBe(200);
    expect(claimView(split(withIds.body).claim)).toEqual(expected);
    expect(split(withIds.body).claim.insurance[0]?.coverage.reference).toBe('Coverage/cov-primary');
    // Without ids the uuids become the ids: same codes, units, modifiers and dates.
    const noIds = await fhirFetch(url(), token, {
      method: 'POST',
      body: parameters(asUuidBundle(plain, false)),
    });
    expect(noIds.status).toBe(200);
    // (Lines sort by encounter id, so compare as sets.)
    const strip = (v: LineView[]) =>
      v.map((l) => JSON.stringify({ ...l, key: undefined, encounter: undefined })).sort();
    expect(strip(claimView(split(noIds.body).claim))).toEqual(strip(expected));
  });

  test('absolute references resolve, and the Coverage and payor are found through them', async () => {
    const s = SCENARIOS.find((x) => x.name.startsWith('R10.5 Medicaid'));
    const plain = toFhirBundle(s!.input, { tables: TABLES });
    const text = JSON.stringify(plain, (k, v: unknown) =>
      k === 'reference' && typeof v === 'string' && /^[A-Z]/.test(v) ? `${EHR_BASE}/${v}` : v,
    );
    const res = await fhirFetch(url(), token, {
      method: 'POST',
      body: parameters(JSON.parse(text) as Bundle),
    });
    expect(res.status).toBe(200);
    const out = split(res.body);
    expect(claimView(out.claim)).toEqual(engineView(codeEncounters(s!.input, TABLES), false));
    expect(out.claim.insurance[0]?.coverage.reference).toBe('Coverage/cov-primary');
    expect(out.claim.insurer?.reference).toBe('Organization/org-payer-medicaid');
  });

  test('two patients written as one relative and one absolute reference to different ids → 400', async () => {
    const b = bundle();
    const entry = (b.entry ?? []).map((e) =>
      e.resource?.resourceType === 'MedicationAdministration'
        ? { ...e, resource: { ...e.resource, subject: { reference: `${EHR_BASE}/Patient/other` } } }
        : e,
    );
    await expect400(parameters({ ...b, entry }), /one patient/);
  });

  test('an administration without an encounter is reported and held, not dropped silently', async () => {
    const b = bundle();
    const entry = (b.entry ?? []).map((e) => {
      if (e.resource?.resourceType !== 'MedicationAdministration') {
        return e;
      }
      const { context: _context, ...rest } = e.resource;
      return { ...e, resource: rest };
    });
    const res = await fhirFetch(url(), token, { method: 'POST', body: parameters({ ...b, entry }) });
    expect(res.status).toBe(200);
    const out = split(res.body);
    expect(out.claim.item ?? []).toEqual([]);
    expect(outcomeView(out.issues)).toContain('error missing-encounter MedicationAdministration/a');
  });

  test('the payer parameter overrides the Coverage', async () => {
    const s = SCENARIOS.find((x) => x.name.startsWith('R1.2 infliximab Medicare 120 min'));
    const res = await fhirFetch(url(), token, {
      method: 'POST',
      body: parameters(toFhirBundle(s!.input, { tables: TABLES }), [
        { name: 'payer', valueCode: 'commercial' },
      ]),
    });
    expect(res.status).toBe(200);
    const codes = (split(res.body).claim.item ?? []).map((i) => i.productOrService.coding?.[0]?.code);
    expect(codes).toEqual(expect.arrayContaining(['96365', '96366']));
  });

  test('no token → 401', async () => {
    const res = await fhirFetch(url(), undefined, { method: 'POST', body: parameters(bundle()) });
    expect(res.status).toBe(401);
  });

  test('a token without Encounter read → 403', async () => {
    const other = await server.token('sandbox', 'system/Patient.r system/ChargeItem.cruds');
    const res = await fhirFetch(url(), other, { method: 'POST', body: parameters(bundle()) });
    expect(res.status).toBe(403);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  test('GET → 405 with Allow: POST', async () => {
    const res = await fhirFetch(url(), token);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});
