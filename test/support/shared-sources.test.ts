// The module sources jest's runtime keeps across the test files of a worker
// (test/support/shared-sources.ts), on real files: read once, read again when the file is edited,
// replaced or deleted, and held for the rest of a test file as jest's own file cache does.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SharedSourceMap, SharedSources } from './shared-sources.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'dripline-shared-sources-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const filename = path.join(dir, name);
  writeFileSync(filename, text);
  return filename;
}

describe('module sources shared by the test files of a jest worker', () => {
  it('reads a module once for all the test files that load it', () => {
    const shared = new SharedSources();
    const filename = file('a.js', 'export const a = 1;\n');
    expect(new SharedSourceMap(shared).get(filename)).toBe('export const a = 1;\n');
    expect(new SharedSourceMap(shared).get(filename)).toBe('export const a = 1;\n');
    expect(shared.filesRead).toBe(1);
  });

  // Same length, and its modification time put back: the change time and the inode still move.
  it('reads a module again for the next test file once it was edited', () => {
    const shared = new SharedSources();
    const filename = file('a.js', 'export const a = 1;\n');
    const before = new Date('2026-01-01T00:00:00Z');
    utimesSync(filename, before, before);
    expect(new SharedSourceMap(shared).get(filename)).toBe('export const a = 1;\n');
    writeFileSync(filename, 'export const a = 2;\n');
    utimesSync(filename, before, before);
    expect(new SharedSourceMap(shared).get(filename)).toBe('export const a = 2;\n');
    expect(shared.filesRead).toBe(2);
  });

  it('reads a module again once another file was moved over it', () => {
    const shared = new SharedSources();
    const filename = file('a.js', 'export const a = 1;\n');
    expect(new SharedSourceMap(shared).get(filename)).toBe('export const a = 1;\n');
    renameSync(file('a.js.new', 'export const a = 3;\n'), filename);
    expect(new SharedSourceMap(shared).get(filename)).toBe('export const a = 3;\n');
  });

  it('answers nothing for a deleted module, a folder or a bad path, so jest reads it and says why', () => {
    const shared = new SharedSources();
    const filename = file('a.js', 'export const a = 1;\n');
    expect(new SharedSourceMap(shared).get(filename)).toBe('export const a = 1;\n');
    rmSync(filename);
    expect(new SharedSourceMap(shared).get(filename)).toBeUndefined();
    const folder = path.join(dir, 'folder.js');
    mkdirSync(folder);
    expect(new SharedSourceMap(shared).get(folder)).toBeUndefined();
    expect(new SharedSourceMap(shared).get(path.join(dir, 'no\0such.js'))).toBeUndefined();
  });

  it('holds a module’s source for the rest of a test file, as jest’s own file cache does', () => {
    const shared = new SharedSources();
    const filename = file('a.js', 'export const a = 1;\n');
    const testFile = new SharedSourceMap(shared);
    expect(testFile.get(filename)).toBe('export const a = 1;\n');
    writeFileSync(filename, 'export const a = 2;\n');
    expect(testFile.get(filename)).toBe('export const a = 1;\n');
    expect(new SharedSourceMap(shared).get(filename)).toBe('export const a = 2;\n');
  });

  it('keeps what jest set for the test file to itself, and keeps the shared sources when cleared', () => {
    const shared = new SharedSources();
    const testPath = file('x.test.js', 'on disk');
    const module = file('a.js', 'export const a = 1;\n');
    const testFile = new SharedSourceMap(shared, [[testPath, 'as jest read it']]);
    expect(testFile.get(testPath)).toBe('as jest read it');
    expect(testFile.get(module)).toBe('export const a = 1;\n');
    testFile.clear();
    expect(new SharedSourceMap(shared).get(module)).toBe('export const a = 1;\n');
    expect(shared.filesRead).toBe(1);
  });
});
