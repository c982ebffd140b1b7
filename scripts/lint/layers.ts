// Dripline's import rules, checked by `npm run lint` (dependency-cruiser, through
// .dependency-cruiser.mjs) on src/ and scripts/.
//
// The layers, bottom first. A file may import its own layer and the layers below it, never one
// above, and no import may close a circle. The order is the revenue cycle's dependency order:
// ingest defines the ports it reads the EHR through and src/ehr implements them (the SMART client
// to EHRs and payers), so ehr sits above ingest; coverage sits below claims because the claim scrubber reads the authorization ledger and the
// eligibility answers; remittance posts to claims; analytics reads everything; the app, the
// server wiring, the CLI and the sandbox parties stand on top. test/lint/layers.test.ts proves
// that a deliberate upward import and a deliberate circle fail.
import type { IForbiddenRuleType } from 'dependency-cruiser';

export interface Layer {
  readonly name: string;
  /** Folders or files directly under src/. */
  readonly paths: readonly string[];
}

export const LAYERS: readonly Layer[] = [
  {
    name: 'base',
    paths: ['contract', 'time', 'async', 'config', 'store', 'http', 'ops', 'logger.ts', 'compile-cache.ts'],
  },
  { name: 'coding', paths: ['coding'] },
  { name: 'x12', paths: ['x12'] },
  { name: 'auth', paths: ['auth'] },
  { name: 'fhir', paths: ['fhir'] },
  { name: 'ingest', paths: ['ingest'] },
  { name: 'ehr', paths: ['ehr'] },
  { name: 'charges', paths: ['charges'] },
  { name: 'coverage', paths: ['coverage'] },
  { name: 'claims', paths: ['claims'] },
  { name: 'remittance', paths: ['remittance'] },
  { name: 'analytics', paths: ['analytics'] },
  { name: 'web', paths: ['web'] },
  { name: 'app', paths: ['app.ts', 'server.ts', 'api-routers.ts', 'main.ts', 'start.ts', 'cli', 'sandbox'] },
];

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** `src/<path>` as a folder or a file. */
const pattern = (paths: readonly string[]): string =>
  `^src/(${paths.map((p) => (p.endsWith('.ts') ? escape(p) + '$' : escape(p) + '/')).join('|')})`;

const upward: IForbiddenRuleType[] = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${layer.name}`,
  comment: `${layer.name} may import only itself and the layers below it (see LAYERS in scripts/lint/layers.ts)`,
  severity: 'error' as const,
  from: { path: pattern(layer.paths) },
  to: { path: pattern(LAYERS.slice(i + 1).flatMap((l) => l.paths)) },
}));

/** Every module of src/ belongs to a layer: a new top-level folder is placed in LAYERS first. */
const unlisted: IForbiddenRuleType = {
  name: 'layer-unlisted',
  comment: 'src/ files belong to a layer: add a new top-level folder to LAYERS in scripts/lint/layers.ts',
  severity: 'error',
  from: { path: '^src/', pathNot: pattern(LAYERS.flatMap((l) => l.paths)) },
  to: {},
};

/** The rules `forbidden` (dependency-cruiser's rule set). */
export const FORBIDDEN: IForbiddenRuleType[] = [
  {
    name: 'no-circular',
    comment:
      'An import circle ties modules that should stand apart; break it by moving what both need down a layer.',
    severity: 'error',
    from: {},
    to: { circular: true },
  },
  ...upward,
  unlisted,
  {
    name: 'src-not-to-test',
    comment: 'Production code never imports tests, fixtures or scripts.',
    severity: 'error',
    from: { path: '^src/' },
    to: { path: '^(test|scripts|fixtures)/' },
  },
];
