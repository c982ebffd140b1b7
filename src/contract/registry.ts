/**
 * The registry under Dripline's canonical URLs: each contract file (canonical.ts for the core, one
 * per capability beside it) declares its URLs through `define`, and `src/contract/index.ts` imports
 * them all so CANONICALS is complete. Only files in src/contract/ spell `https://dripline.dev/fhir`.
 */

/** The canonical base of everything Dripline defines. */
export const CANONICAL_BASE = 'https://dripline.dev/fhir';

export type CanonicalKind =
  'extension' | 'profile' | 'code-system' | 'identifier-system' | 'topic' | 'operation-base' | 'measure';

export interface Canonical {
  readonly url: string;
  readonly kind: CanonicalKind;
  /** One line: what it means and where it appears. */
  readonly meaning: string;
  /** Part of the published FHIR contract: a StructureDefinition in profiles/ describes it. */
  readonly published: boolean;
}

export const registry: Canonical[] = [];

const FOLDER: Readonly<Record<CanonicalKind, string>> = {
  extension: 'StructureDefinition',
  profile: 'StructureDefinition',
  'code-system': 'CodeSystem',
  'identifier-system': 'sid',
  topic: 'SubscriptionTopic',
  'operation-base': 'OperationDefinition',
  measure: 'Measure',
};

export function define(kind: CanonicalKind, name: string, meaning: string, published = false): string {
  const url = name === '' ? `${CANONICAL_BASE}/${FOLDER[kind]}` : `${CANONICAL_BASE}/${FOLDER[kind]}/${name}`;
  registry.push({ url, kind, meaning, published });
  return url;
}
