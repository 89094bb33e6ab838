import { writeSynth } from '../synth/index.js';
import { integer, parse, requireString } from './args.js';

export const SYNTH_HELP = `fedmart synth — write synthetic shop exports and the pooled plaintext for checking

Usage: fedmart synth --shops N --seed S --out DIR [--state DIR]

  --shops N   number of shops (default 5)
  --seed S    seed; the same seed writes the same files (default 42)
  --out DIR   output folder: DIR/shop-01 ... with schema.json and CSVs, DIR/pooled, DIR/manifest.json
  --state DIR each shop's pseudonym key goes to DIR/shop-01/pseudonym.key ..., for
              fedmart merchant --state DIR/shop-01 (default: OUT/shop-01/.fedmart-state,
              the node's default state folder)`;

export async function synthCommand(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, { shops: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, state: { type: 'string' } });
  if (values.help) {
    console.log(SYNTH_HELP);
    return 0;
  }
  const shops = integer(values, 'shops', 5, 1, 99);
  const seed = typeof values.seed === 'string' ? values.seed : '42';
  const out = requireString(values, 'out');
  const stateDir = typeof values.state === 'string' ? requireString(values, 'state') : undefined;
  const manifest = await writeSynth(out, { shops, seed, ...(stateDir === undefined ? {} : { stateDir }), onProgress: (p) => {
    process.stderr.write(`\rsynth: ${p.phase} shop ${p.shop}/${p.shops}   `);
  } });
  process.stderr.write('\n');
  console.log(JSON.stringify(manifest));
  return 0;
}
