// Entry of a SEAL worker thread (see seal-worker.ts). Loader hooks
// registered in the parent thread do not reach a worker, so the worker
// registers tsx itself and then loads the TypeScript body. Works the same
// under vitest, under `node bin/fedmart.mjs` and under `node --import tsx`.
import { register } from 'tsx/esm/api';

register();
await import('./seal-worker-main.ts');
