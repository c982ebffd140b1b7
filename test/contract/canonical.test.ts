/**
 * The FHIR contract (src/contract/) is the only place a Dripline canonical URL is
 * spelled, each URL is declared once with its meaning, and the StructureDefinitions in profiles/ are
 * exactly the published ones.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import { CANONICAL_BASE, CANONICALS, STRUCTURE_DEFINITION_BASE } from '../../src/contract/index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CONTRACT_DIR = `src${path.sep}contract${path.sep}`;

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((name) => {
    const rel = path.join(dir, name);
    if (statSync(path.join(ROOT, rel)).isDirectory()) {
      return name === 'node_modules' ? [] : sourceFiles(rel);
    }
    return /\.(ts|mjs|js|json)$/.test(name) ? [rel] : [];
  });
}

describe('canonical URLs', () => {
  test('no file of src/, scripts/ or test/ outside src/contract/ spells one', () => {
    const spelled = ['src', 'scripts', 'test']
      .flatMap(sourceFiles)
      .filter(
        (file) =>
          !file.startsWith(CONTRACT_DIR) &&
          readFileSync(path.join(ROOT, file), 'utf8').includes(CANONICAL_BASE),
      );
    expect(spelled).toEqual([]);
  });

  test('each is declared once, under the base, with a one-line meaning', () => {
    const urls = CANONICALS.map((c) => c.url);
    expect(new Set(urls).size).toBe(urls.length);
    for (const c of CANONICALS) {
      expect(c.url.startsWith(`${CANONICAL_BASE}/`)).toBe(true);
      expect(c.meaning.trim().length).toBeGreaterThan(10);
      expect(c.meaning).not.toContain('\n');
    }
  });

  test('profiles/ holds exactly the published definitions, each under its declared URL', () => {
    const files = readdirSync(path.join(ROOT, 'profiles')).filter(
      (f) => f.startsWith('StructureDefinition-') && f.endsWith('.json'),
    );
    const inProfiles = files
      .map((f) => (JSON.parse(readFileSync(path.join(ROOT, 'profiles', f), 'utf8')) as { url: string }).url)
      .sort();
    const published = CANONICALS.filter((c) => c.published)
      .map((c) => c.url)
      .sort();
    expect(inProfiles).toEqual(published);
    expect(inProfiles.every((url) => url.startsWith(`${STRUCTURE_DEFINITION_BASE}/`))).toBe(true);
  });
});
