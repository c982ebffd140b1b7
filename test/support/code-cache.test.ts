// The test environment's code caches (test/support/code-cache.ts) on compilers of their own: a
// second compile of the same source is handed the first one's cache, a changed source or a
// rejected cache is compiled afresh, and what is compiled still runs as it should.
import { describe, expect, it } from '@jest/globals';
import vm from 'node:vm';
import { installCodeCaches, type VmCompilers } from './code-cache.ts';

function compilers(): { target: VmCompilers; moduleOptions: (vm.SourceTextModuleOptions | undefined)[] } {
  const moduleOptions: (vm.SourceTextModuleOptions | undefined)[] = [];
  const SourceTextModule = new Proxy(vm.SourceTextModule, {
    construct(base, args: [string, vm.SourceTextModuleOptions?], newTarget): object {
      moduleOptions.push(args[1]);
      return Reflect.construct(base, args, newTarget);
    },
  });
  return { target: { compileFunction: vm.compileFunction, SourceTextModule }, moduleOptions };
}

const body = 'const twice = (n) => n * 2; return twice(x) + 1;';

describe('code caches for jest compiles', () => {
  it('hands a CommonJS body compiled again under the same name the first compile’s cache', () => {
    const { target } = compilers();
    const caches = installCodeCaches(target);
    const first = target.compileFunction(body, ['x'], { filename: '/virtual/a.js' });
    expect(first.cachedDataRejected).toBeUndefined();
    expect(caches.scripts.get('/virtual/a.js')?.data.length).toBeGreaterThan(0);
    const again = target.compileFunction(body, ['x'], {
      filename: '/virtual/a.js',
      parsingContext: vm.createContext({}),
    });
    expect(again.cachedDataRejected).toBe(false);
    expect(again(20)).toBe(41);
  });

  it('compiles a changed source afresh and keeps its cache instead', () => {
    const { target } = compilers();
    const caches = installCodeCaches(target);
    target.compileFunction(body, ['x'], { filename: '/virtual/a.js' });
    const changed = 'return x - 1;';
    const compiled = target.compileFunction(changed, ['x'], { filename: '/virtual/a.js' });
    expect(compiled.cachedDataRejected).toBeUndefined();
    expect(compiled(20)).toBe(19);
    expect(caches.scripts.get('/virtual/a.js')?.source).toBe(changed);
  });

  // V8 answers a compile from its own in-memory cache when it still holds the source, without
  // reading the cache handed to it: a rejected cache is shown with a source compiled nowhere else.
  it('drops a CommonJS cache V8 rejects, and makes it again on the next compile', () => {
    const { target } = compilers();
    const caches = installCodeCaches(target);
    const fresh = 'const thrice = (n) => n * 3; return thrice(x) - 1;';
    const junk = Buffer.from('not a code cache');
    caches.scripts.set('/virtual/rejected.js', { source: fresh, data: junk });
    const rejected = target.compileFunction(fresh, ['x'], { filename: '/virtual/rejected.js' });
    expect(rejected.cachedDataRejected).toBe(true);
    expect(rejected(2)).toBe(5);
    expect(caches.scripts.has('/virtual/rejected.js')).toBe(false);
    target.compileFunction(fresh, ['x'], { filename: '/virtual/rejected.js' });
    expect(caches.scripts.get('/virtual/rejected.js')?.data.equals(junk)).toBe(false);
  });

  it('hands an ES module made again under the same identifier the first one’s cache', async () => {
    const { target, moduleOptions } = compilers();
    const caches = installCodeCaches(target);
    const source = 'export const answer = [20, 1].reduce((a, b) => a * 2 + b);';
    const evaluate = async (): Promise<unknown> => {
      const made = new target.SourceTextModule(source, {
        identifier: '/virtual/m.mjs',
        context: vm.createContext({}),
      });
      await made.link(() => {
        throw new Error('no imports');
      });
      await made.evaluate();
      return (made.namespace as { answer: number }).answer;
    };
    await expect(evaluate()).resolves.toBe(41);
    expect(moduleOptions[0]?.cachedData).toBeUndefined();
    await expect(evaluate()).resolves.toBe(41);
    expect(moduleOptions[1]?.cachedData).toBe(caches.modules.get('/virtual/m.mjs')?.data);
  });

  it('makes an ES module again without a cache V8 rejects, and keeps a new cache', async () => {
    const { target, moduleOptions } = compilers();
    const caches = installCodeCaches(target);
    const fresh = 'export const answer = [6, 7].reduce((a, b) => a * b);';
    const junk = Buffer.from('not a code cache');
    caches.modules.set('/virtual/rejected.mjs', { source: fresh, data: junk });
    const made = new target.SourceTextModule(fresh, { identifier: '/virtual/rejected.mjs' });
    await made.link(() => {
      throw new Error('no imports');
    });
    await made.evaluate();
    expect((made.namespace as { answer: number }).answer).toBe(42);
    // The rejected try, then the module made without a cache, whose cache replaces the bad one.
    expect(moduleOptions.map((options) => options?.cachedData)).toEqual([junk, undefined]);
    expect(caches.modules.get('/virtual/rejected.mjs')?.data.equals(junk)).toBe(false);
  });
});
