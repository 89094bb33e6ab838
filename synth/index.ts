/**
 * Public surface of `synth/`: deterministic synthetic shops for demos, tests
 * and benchmarks (`fedmart synth --shops N --seed S --out DIR`).
 *
 * @module
 */
export { generateSynth, type SynthOptions, type SynthShop } from './generate.js';
export { writeSynth, type SynthManifest } from './write.js';
export { SYNTH_CHANNELS } from './sessions.js';
export { periodOf } from './shop-metrics.js';
export { Prng } from './prng.js';
