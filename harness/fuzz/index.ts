/** Every fuzz target, for the test files and `npm run fuzz`. */
import type { FuzzTarget } from './common.js';
import { GRPC_TARGETS } from './grpc.js';
import { HTTP_TARGETS } from './http.js';
import { PARSER_TARGETS } from './parsers.js';

export const ALL_TARGETS: readonly FuzzTarget[] = [...PARSER_TARGETS, ...GRPC_TARGETS, ...HTTP_TARGETS];

export { FuzzEnv } from './env.js';
export { runTarget, PropertyViolation, type FuzzTarget, type TargetReport } from './common.js';
