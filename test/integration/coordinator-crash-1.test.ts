/**
 * Crash safety of the coordinator, part 1 of 4 (50 seeded runs in all,
 * 12 or 13 per file, so that each file stays near a minute): SIGKILL at random
 * points of rounds, PGlite on disk, the coordinator a separate process and
 * a warm standby taking over. See test/helpers/crash-rounds.ts for what is
 * checked after every kill and at the end.
 */
import { crashSuite } from '../helpers/crash-suite.js';

crashSuite(1);
