// dependency-cruiser's configuration for `npm run lint`: the layer rules live, typed and tested,
// in scripts/lint/layers.ts (Node 24 loads the TypeScript directly).
import { FORBIDDEN } from './scripts/lint/layers.ts';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: FORBIDDEN,
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
