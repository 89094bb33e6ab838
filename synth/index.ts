/**
 * Public surface of `synth/`: deterministic synthetic shops for demos, tests
 * and benchmarks (`fedmart synth --shops N --seed S --out DIR`).
 *
 * @module
 */
export {
  generateSynth,
  DEFAULT_HISTORY_END_UNIX_S,
  type SynthOptions,
  type SynthProgress,
  type SynthDataset,
  type SynthShop,
  type SynthCustomer,
  type SynthOrder,
  type SynthCampaignExposure,
} from './generate.js';
export { writeSynth, type SynthManifest, type WriteSynthOptions } from './write.js';
export { SYNTH_CHANNELS, generateSessions, type SynthChannel, type SynthSession } from './sessions.js';
export { generateShopMetrics, periodOf, type SynthShopMetrics } from './shop-metrics.js';
export { shopIdOf, type ShopProfile, type CustomersPerShop } from './profile.js';
export { Prng } from './prng.js';
export { generateShopConsents, type SynthShopConsents, type SynthConsent, type ConsentSubject } from './consents.js';
