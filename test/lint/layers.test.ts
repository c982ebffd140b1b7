/**
 * The import rules `npm run lint` enforces (scripts/lint/layers.ts, through .dependency-cruiser.mjs): a deliberate upward import
 * and a deliberate circle, written into a scratch tree shaped like src/, are reported by the very
 * rules the lint runs; the same tree without them is clean.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { cruise } from 'dependency-cruiser';
import type { ICruiseResult, IViolation } from 'dependency-cruiser';
import { FORBIDDEN, LAYERS } from '../../scripts/lint/layers.ts';

let dir: string;
const cwd = process.cwd();

function write(files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
}

async function violations(): Promise<string[]> {
  process.chdir(dir);
  try {
    const { output } = await cruise(['src'], {
      validate: true,
      ruleSet: { forbidden: FORBIDDEN },
      doNotFollow: { path: 'node_modules' },
      tsPreCompilationDeps: true,
    });
    return (output as ICruiseResult).summary.violations.map(
      (v: IViolation) => `${v.rule.name}: ${v.from} -> ${v.to}`,
    );
  } finally {
    process.chdir(cwd);
  }
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'dripline-layers-'));
  write({
    'src/store/port.ts': 'export type TenantId = string;\n',
    'src/charges/capture.ts':
      "import type { TenantId } from '../store/port.ts';\nexport const capture = (t: TenantId): string => t;\n",
    'src/claims/build.ts':
      "import { capture } from '../charges/capture.ts';\nexport const build = (): string => capture('t');\n",
    'src/claims/scrub.ts':
      "import { build } from './build.ts';\nexport const scrub = (): string => build();\n",
  });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('the layers run from the store to the app, each capability in one', () => {
  const names = LAYERS.map((l) => l.name);
  expect(names[0]).toBe('base');
  expect(names.at(-1)).toBe('app');
  for (const [lower, upper] of [
    ['coding', 'fhir'],
    ['ingest', 'charges'],
    ['charges', 'claims'],
    ['coverage', 'claims'],
    ['claims', 'remittance'],
    ['remittance', 'analytics'],
    ['analytics', 'web'],
  ] as const) {
    expect(names.indexOf(lower)).toBeLessThan(names.indexOf(upper));
  }
});

test('downward imports are clean; an upward import and a circle are each reported', async () => {
  expect(await violations()).toEqual([]);

  write({
    'src/charges/reconcile.ts': "import { build } from '../claims/build.ts';\nexport const r = build;\n",
  });
  write({ 'src/store/open.ts': "import { scrub } from '../claims/scrub.ts';\nexport const o = scrub;\n" });
  write({
    'src/claims/build.ts':
      "import { scrub } from './scrub.ts';\nexport const build = (): string => scrub();\n",
  });
  const found = await violations();
  expect(found).toEqual(
    expect.arrayContaining([
      'layer-charges: src/charges/reconcile.ts -> src/claims/build.ts',
      'layer-base: src/store/open.ts -> src/claims/scrub.ts',
      'no-circular: src/claims/build.ts -> src/claims/scrub.ts',
    ]),
  );
  // A folder no layer names is refused too.
  write({
    'src/widgets/w.ts': "import { capture } from '../charges/capture.ts';\nexport const w = capture;\n",
  });
  expect(await violations()).toEqual(
    expect.arrayContaining(['layer-unlisted: src/widgets/w.ts -> src/charges/capture.ts']),
  );
});
