/**
 * Synthetic shops on disk plus in-process merchant nodes for them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MerchantNode, loadShopCompliance, loadShopData } from '../client-sdk/index.js';
import { writeSynth, type SynthOptions } from '../synth/index.js';
import { testEnrolmentToken } from './identity.js';
import { testLogger } from './test-logs.js';

export interface SynthShops {
  readonly dir: string;
  readonly shopDirs: readonly { shopId: string; dir: string }[];
  readonly pooledDir: string;
}

export async function makeShops(shops: number, seed: string | number, options: Pick<SynthOptions, 'customersPerShop'> = {}): Promise<SynthShops> {
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-shops-'));
  const manifest = await writeSynth(dir, { shops, seed, ...options });
  return {
    dir,
    shopDirs: manifest.shops.map((s) => ({ shopId: s.shopId, dir: join(dir, s.dir) })),
    pooledDir: join(dir, 'pooled'),
  };
}

/**
 * Creates, enrols and keys one merchant node per shop. Each enrols with a
 * one-time token of the test enrolment authority, as in production.
 */
export async function makeMerchants(
  shops: SynthShops,
  coordinatorAddress: string,
  keyholderSigningKeyHex: string,
  options: { enrol?: boolean; coordinatorCa?: string; enrolmentToken?: (merchantId: string) => Promise<string> } = {},
): Promise<MerchantNode[]> {
  const nodes: MerchantNode[] = [];
  for (const s of shops.shopDirs) {
    const node = await MerchantNode.create({
      merchantId: s.shopId,
      coordinatorAddress,
      ...(options.coordinatorCa === undefined ? {} : { coordinatorCa: options.coordinatorCa }),
      data: await loadShopData(s.dir, s.shopId),
      compliance: await loadShopCompliance(s.dir),
      stateDir: mkdtempSync(join(tmpdir(), `fedmart-state-${s.shopId}-`)),
      keyholderSigningKeyHex,
      enrolmentToken: await (options.enrolmentToken ?? testEnrolmentToken)(s.shopId),
      logger: testLogger('merchants').child({ merchantId: s.shopId }),
    });
    if (options.enrol !== false) await node.enrol();
    await node.loadPublicKey();
    nodes.push(node);
  }
  return nodes;
}
