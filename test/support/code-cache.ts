/**
 * V8 code caches for the modules jest compiles, kept for the life of a jest worker (installed on
 * node:vm by test/support/code-cache-environment.ts). Jest gives every test file its own vm context
 * and compiles every module the file loads again inside it — expect, jest-circus and the rest of
 * jest's own per-file modules, express, @medplum/core, Dripline's own sources — and V8's in-memory
 * compilation cache does not carry across those files (compileFunction and modules bypass it).
 * Here the first compile of a module produces V8's code cache for it
 * (https://nodejs.org/api/vm.html#sourcetextmodulecreatecacheddata) and later compiles of the same
 * source under the same name are handed it. V8 checks a cache against the source and its own flags
 * and rejects one that does not fit (a test file that turns on --expose-gc changes the flags for
 * the rest of the worker's life): the module is then compiled afresh and its cache made again, as
 * it is for a module whose source changed. Each file still gets its own module instances: only
 * the work of parsing is shared, never state.
 */
import type vm from 'node:vm';

/** The two ways jest compiles: CommonJS bodies and ES modules. */
export interface VmCompilers {
  compileFunction: typeof vm.compileFunction;
  SourceTextModule: typeof vm.SourceTextModule;
}

export interface CodeCache {
  readonly source: string;
  data: Buffer;
}

/** The caches, by file name (CommonJS) and module identifier (ES modules). */
export interface CodeCaches {
  readonly scripts: Map<string, CodeCache>;
  readonly modules: Map<string, CodeCache>;
}

type CompileOptions = NonNullable<Parameters<typeof vm.compileFunction>[2]>;
type ModuleOptions = ConstructorParameters<typeof vm.SourceTextModule>[1];

/** Replaces `target`'s compilers with ones that keep and reuse code caches. */
export function installCodeCaches(target: VmCompilers): CodeCaches {
  const caches: CodeCaches = { scripts: new Map(), modules: new Map() };
  const { scripts, modules } = caches;

  const compileFunction = target.compileFunction;
  target.compileFunction = (
    code: string,
    params?: readonly string[],
    options?: CompileOptions,
  ): ReturnType<typeof vm.compileFunction> => {
    const name = options?.filename;
    if (name === undefined) {
      return compileFunction(code, params, options);
    }
    const cached = scripts.get(name);
    if (cached !== undefined && cached.source === code) {
      const compiled = compileFunction(code, params, { ...options, cachedData: cached.data });
      if (compiled.cachedDataRejected === true) {
        scripts.delete(name);
      }
      return compiled;
    }
    // The types mark produceCachedData deprecated for vm.Script, where createCachedData() replaces
    // it; a compiled function has no createCachedData(), and Node documents the option for it.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    const compiled = compileFunction(code, params, { ...options, produceCachedData: true });
    if (compiled.cachedData !== undefined) {
      scripts.set(name, { source: code, data: compiled.cachedData });
    }
    return compiled;
  };

  // A rejected cache makes this constructor throw (ERR_VM_MODULE_CACHED_DATA_REJECTED) where
  // compileFunction only says so: the module is then made again without one.
  target.SourceTextModule = new Proxy(target.SourceTextModule, {
    construct(base, args: [string, ModuleOptions?], newTarget): object {
      const [code, options] = args;
      const name = options?.identifier;
      const cached = name === undefined ? undefined : modules.get(name);
      if (cached !== undefined && cached.source === code) {
        try {
          return Reflect.construct(base, [code, { ...options, cachedData: cached.data }], newTarget);
        } catch (error) {
          if ((error as { code?: unknown }).code !== 'ERR_VM_MODULE_CACHED_DATA_REJECTED') {
            throw error;
          }
        }
      }
      // createCachedData() is Node's (since 13.7) but missing from @types/node's SourceTextModule.
      const made = Reflect.construct(base, args, newTarget) as vm.SourceTextModule & {
        createCachedData(): Buffer;
      };
      if (name !== undefined) {
        modules.set(name, { source: code, data: made.createCachedData() });
      }
      return made;
    },
  });
  return caches;
}
