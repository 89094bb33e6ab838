#!/usr/bin/env node
// The one `fedmart` binary. Sources are TypeScript; tsx's loader runs them
// without a build step so that `npm ci && npm run demo` needs nothing else.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
