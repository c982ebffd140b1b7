/**
 * The README promises only what the repository has: the Node version package.json requires, npm
 * scripts that exist, files that exist, settings the config loader reads, and links that land.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';

const ROOT = path.resolve(import.meta.dirname, '../..');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  scripts: Record<string, string>;
};

describe('README', () => {
  test('states the Node requirement package.json declares in engines', () => {
    const minimum = /^>=\s*(\d+(?:\.\d+)*)$/.exec(pkg.engines.node)?.[1];
    expect(minimum).toBeDefined();
    const stated = [...readme.matchAll(/Node(?:\.js)? (\d+(?:\.\d+)*) or newer/g)].map((m) => m[1]);
    expect(stated.length).toBeGreaterThan(0);
    expect(stated.every((v) => v === minimum)).toBe(true);
  });

  test('every npm script it names exists', () => {
    const named = [...readme.matchAll(/npm run (?:-s )?([a-z][a-z0-9:-]*)/g)].map((m) => m[1] ?? '');
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((n) => !(n in pkg.scripts))).toEqual([]);
  });

  test('every repository file it names exists', () => {
    const named = [...readme.matchAll(/`((?:src|docs|test|scripts|profiles|fixtures)\/[^`\s*]+)`/g)].map(
      (m) => m[1] ?? '',
    );
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((f) => !existsSync(path.join(ROOT, f.replace(/\/$/, ''))))).toEqual([]);
  });

  test('every environment variable in the configuration table is read by the config loader', () => {
    const config = readFileSync(path.join(ROOT, 'src/config/config.ts'), 'utf8');
    const variables = [...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1] ?? '');
    expect(variables.length).toBeGreaterThan(10);
    expect(variables.filter((v) => !config.includes(`'${v}'`))).toEqual([]);
  });

  test('every link to a section lands on a heading', () => {
    const slug = (heading: string): string =>
      heading
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, '')
        .replace(/ /g, '-');
    const anchors = new Set([...readme.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1] ?? '')));
    const links = [...readme.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] ?? '');
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((l) => !anchors.has(l))).toEqual([]);
  });
});
