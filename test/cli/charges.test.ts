/**
 * `dripline charges` with a Bundle file in, run in this process through the entry function the
 * binary runs (test/support/cli.ts; test/cli/cli.test.ts runs the binary itself).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import type { Bundle, Claim, OperationOutcome, Parameters } from '@medplum/fhirtypes';
import { cliInProcess } from '../support/cli.ts';
import type { CliRun } from '../support/child.ts';

const FIXTURE = path.resolve('fixtures/bundles/office-infliximab.json');
const dir = mkdtempSync(path.join(tmpdir(), 'dripline-charges-'));

async function cli(args: string[]): Promise<CliRun> {
  return cliInProcess(args, process.env);
}

function file(name: string, content: unknown): string {
  const p = path.join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

/** "96413x1", "J1745x5-JW" for each Claim item. */
function lines(output: Parameters): string[] {
  const claim = output.parameter?.find((p) => p.name === 'claim')?.resource as Claim;
  return (claim.item ?? []).map((i) => {
    const mods = (i.modifier ?? []).map((m) => m.coding?.[0]?.code);
    return `${i.productOrService.coding?.[0]?.code}x${i.quantity?.value}${mods.length > 0 ? `-${mods.join('-')}` : ''}`;
  });
}

const bundle = (): Bundle => JSON.parse(readFileSync(FIXTURE, 'utf8')) as Bundle;

describe('dripline charges', () => {
  test('codes the fixture office day (Medicare: infliximab as chemo/complex, premed push, JW waste)', async () => {
    const res = await cli(['charges', FIXTURE]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const output = JSON.parse(res.stdout) as Parameters;
    expect(output.resourceType).toBe('Parameters');
    expect(lines(output)).toEqual(['96375x1', '96413x1', '96415x1', 'J1200x1-JZ', 'J1745x45', 'J1745x5-JW']);
    const claim = output.parameter?.find((p) => p.name === 'claim')?.resource as Claim;
    expect(claim).toMatchObject({
      status: 'draft',
      patient: { reference: 'Patient/pt-20931' },
      insurer: { reference: 'Organization/org-medicare-b' },
      insurance: [{ coverage: { reference: 'Coverage/cov-medicare' } }],
      billablePeriod: { start: '2025-03-10', end: '2025-03-10' },
    });
    expect(claim.diagnosis?.[0]?.diagnosisCodeableConcept?.coding?.[0]?.code).toBe('K50.011');
    const drug = claim.item?.find((i) => i.productOrService.coding?.[0]?.code === 'J1745' && !i.modifier);
    expect(drug?.detail?.[0]?.productOrService.coding?.[0]?.code).toBe('57894003001');
    expect(output.parameter?.filter((p) => p.name === 'chargeItem')).toHaveLength(6);
    const issues = output.parameter?.find((p) => p.name === 'issues')?.resource as OperationOutcome;
    expect(issues.issue.every((i) => i.severity === 'information')).toBe(true);
  });

  test('the same output as the operation: deterministic but for the creation time', async () => {
    const [a, b] = await Promise.all([cli(['charges', FIXTURE]), cli(['charges', FIXTURE])]);
    const strip = (text: string) => text.replace(/"(created|enteredDate)": "[^"]+"/g, '"$1": "…"');
    expect(strip(a.stdout)).toBe(strip(b.stdout));
  });

  test('--payer commercial takes the therapeutic codes and drops JW', async () => {
    const res = await cli(['charges', FIXTURE, '--payer', 'commercial']);
    expect(res.code).toBe(0);
    expect(lines(JSON.parse(res.stdout))).toEqual(['96375x1', '96365x1', '96366x1', 'J1200x1', 'J1745x45']);
  });

  test('--setting hospital-outpatient makes an institutional claim with revenue codes', async () => {
    const res = await cli(['charges', '--setting', 'hospital-outpatient', FIXTURE]);
    expect(res.code).toBe(0);
    const claim = (JSON.parse(res.stdout) as Parameters).parameter?.[0]?.resource as Claim;
    expect(claim.type.coding?.[0]?.code).toBe('institutional');
    expect((claim.item ?? []).every((i) => i.revenue?.coding?.[0]?.code !== undefined)).toBe(true);
  });

  test('accepts the operation’s input Parameters; flags override its parameters', async () => {
    const input = file('params.json', {
      resourceType: 'Parameters',
      parameter: [
        { name: 'setting', valueCode: 'office' },
        { name: 'payer', valueCode: 'medicare' },
        { name: 'bundle', resource: bundle() },
      ],
    });
    const same = await cli(['charges', input]);
    expect(same.code).toBe(0);
    expect(lines(JSON.parse(same.stdout))).toContain('J1745x5-JW');
    const overridden = await cli(['charges', input, '--payer', 'commercial']);
    expect(overridden.code).toBe(0);
    expect(lines(JSON.parse(overridden.stdout))).not.toContain('J1745x5-JW');
  });

  test('help prints the usage and exits 0', async () => {
    const res = await cli(['charges', '--help']);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/Usage: dripline charges <bundle.json>/);
  });

  test.each([
    [['charges'], /a bundle file is required/],
    [['charges', FIXTURE, '--tenant', 'x'], /Unknown option '--tenant'/],
    [['charges', FIXTURE, 'second.json'], /unexpected argument "second.json"/],
    [['charges', path.join(dir, 'missing.json')], /cannot read .*missing.json: ENOENT/],
  ])('usage error %j exits 2 with a message', async (args, message) => {
    const res = await cli(args);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(message);
    expect(res.stderr).toMatch(/Usage: npm run cli -- <command>/);
  });

  test.each([
    [
      'bad setting',
      () => [FIXTURE, '--setting', 'inpatient'],
      /setting must be one of office, hospital-outpatient, home/,
    ],
    ['bad payer', () => [FIXTURE, '--payer', 'tricare'], /payer must be one of/],
    ['not JSON', () => [file('broken.json', '{"resourceType": "Bundle",')], /is not JSON/],
    [
      'not a Bundle',
      () => [file('patient.json', { resourceType: 'Patient' })],
      /collection Bundle or a Parameters/,
    ],
    [
      'not a collection',
      () => [file('batch.json', { ...bundle(), type: 'batch' })],
      /must be a collection Bundle/,
    ],
    [
      'no Encounter',
      () => [
        file('no-enc.json', {
          ...bundle(),
          entry: bundle().entry?.filter((e) => e.resource?.resourceType !== 'Encounter'),
        }),
      ],
      /holds no Encounter/,
    ],
    [
      'setting not derivable',
      () => [
        file('no-type.json', {
          ...bundle(),
          entry: bundle().entry?.map((e) =>
            e.resource?.resourceType === 'Encounter'
              ? { ...e, resource: { ...e.resource, type: undefined } }
              : e,
          ),
        }),
      ],
      /setting is required/,
    ],
  ])('bad bundle (%s) exits 2 with the OperationOutcome text', async (_name, args, message) => {
    const res = await cli(['charges', ...args()]);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(message);
  });
});
