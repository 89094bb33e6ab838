/**
 * Every gRPC method of the coordinator and the key holder (enumerated from
 * the service definitions) under hostile input: random bytes, mutated valid
 * messages, wrong wire types, oversized messages, mangled contribution and
 * release streams. Each call is accepted or refused with a precise status
 * and a stable code; a refused call changes no state; the servers keep
 * answering. `npm run fuzz -- --target grpc --runs 10000` runs them longer.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { MerchantServiceService, KeyHolderServiceService } from '../../protos/index.js';
import { FuzzEnv, runTarget } from '../../harness/fuzz/index.js';
import { GRPC_TARGETS } from '../../harness/fuzz/grpc.js';

const env = new FuzzEnv();
afterAll(() => env.close(), 60_000);

describe('gRPC methods under hostile input', () => {
  it('has a target for every method of both services', () => {
    const methods = [...Object.values(MerchantServiceService), ...Object.values(KeyHolderServiceService)].map((m) => m.path);
    const names = GRPC_TARGETS.map((t) => t.name);
    for (const path of methods) {
      const [, service, method] = /^\/fedmart\.v1\.(\w+)\/(\w+)$/.exec(path)!;
      expect(names).toContain(`grpc.${service}.${method}`);
    }
  });

  for (const target of GRPC_TARGETS) {
    const runs = target.slow ? 80 : 150;
    it(`${target.name}: ${runs} hostile calls answered precisely, nothing changed by a refusal`, async () => {
      const report = await runTarget(target.name, await target.prepare(env), { runs });
      expect(report.failure).toBeNull();
      expect(report.runs).toBe(runs);
    }, 120_000);
  }
});
