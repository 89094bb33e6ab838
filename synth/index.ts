/**
 * Public surface of `synth/`: deterministic synthetic shops for demos, tests
 * and benchmarks (`fedmart synth --shops N --seed S --out DIR`).
 *
 * @module
 */
export type { SynthOptions } from './generate.js';
export { writeSynth } from './write.js';
