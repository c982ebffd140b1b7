/**
 * The app's browser bundle: the client (./client) bundled by esbuild when the server starts, kept
 * in memory and served under content-hashed names. Building at start means `npm ci && npm start`
 * (and every test that starts a server) serves the current client with no extra step, offline:
 * esbuild ships its binary in an npm package, Chart.js is bundled, nothing comes from a CDN.
 * esbuild's module is imported here, when a bundle is built (a tenant with an EHR launch, or the
 * app's first request), not by every process that loads the web routes.
 */
import { fileURLToPath } from 'node:url';

export interface AppBundle {
  readonly script: string;
  readonly stylesheet: string;
  /** By file name: content and type. */
  readonly files: ReadonlyMap<string, { readonly body: Uint8Array; readonly type: string }>;
}

export async function buildAppBundle(): Promise<AppBundle> {
  const { build } = await import('esbuild');
  const entry = fileURLToPath(new URL('./client/main.ts', import.meta.url));
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    // Chart.js is loaded with the analytics view only: the worklist's first paint does not wait for it.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    target: ['chrome110', 'firefox110', 'safari16'],
    write: false,
    outdir: '/bundle',
    entryNames: 'app-[hash]',
    legalComments: 'linked',
    logLevel: 'silent',
  });
  const files = new Map<string, { body: Uint8Array; type: string }>();
  let script = '';
  let stylesheet = '';
  for (const file of result.outputFiles) {
    const name = file.path.slice(file.path.lastIndexOf('/') + 1);
    const type = name.endsWith('.css')
      ? 'text/css; charset=utf-8'
      : name.endsWith('.js')
        ? 'text/javascript; charset=utf-8'
        : 'text/plain; charset=utf-8';
    files.set(name, { body: file.contents, type });
    if (name.startsWith('app-') && name.endsWith('.js')) {
      script = name;
    } else if (name.endsWith('.css')) {
      stylesheet = name;
    }
  }
  return { script, stylesheet, files };
}
