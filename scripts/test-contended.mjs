#!/usr/bin/env node
// Runs the test suite on a contended machine: `npm test` with busy loops
// beside it (child processes spinning on one core each), as CI does when it
// shares its cores with other work. Prints the elapsed time and the load
// average, and exits with the command's exit code.
//
//   node scripts/test-contended.mjs                       npm test beside 4 busy loops
//   node scripts/test-contended.mjs --spinners 2          beside 2
//   node scripts/test-contended.mjs -- npx vitest run test/x.test.ts
//                                                         another command instead of npm test
//
// The busy loops are stopped when the command ends, on Ctrl-C (SIGINT) and
// SIGTERM (passed on to the command, which is then waited for) and when this
// script exits for any other reason; a loop whose parent died without
// stopping it (SIGKILL) notices within a fraction of a second and exits.
import { spawn } from 'node:child_process';
import { constants, cpus, loadavg } from 'node:os';

function usage(message) {
  console.error(`test-contended: ${message}\nUsage: node scripts/test-contended.mjs [--spinners N] [-- COMMAND ARGS...]`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const dashes = argv.indexOf('--');
const own = dashes === -1 ? argv : argv.slice(0, dashes);
const command = dashes === -1 ? ['npm', 'test'] : argv.slice(dashes + 1);
if (command.length === 0) usage('no command after --');
let spinners = 4;
for (let i = 0; i < own.length; i++) {
  if (own[i] === '--spinners') {
    spinners = Number(own[++i]);
    if (!Number.isSafeInteger(spinners) || spinners < 0 || spinners > 64) usage('--spinners takes an integer from 0 to 64');
  } else if (own[i] === '--help' || own[i] === '-h') {
    console.log('Usage: node scripts/test-contended.mjs [--spinners N] [-- COMMAND ARGS...]  (default: npm test beside 4 busy loops)');
    process.exit(0);
  } else {
    usage(`unknown option ${own[i]}`);
  }
}

// Each loop spins; every few million turns it checks that its parent is still this script.
const SPIN = `const parent = ${process.pid}; let n = 0;
for (;;) { if (++n === 5e6) { n = 0; if (process.ppid !== parent) process.exit(0); } }`;

const loops = [];
for (let i = 0; i < spinners; i++) {
  const child = spawn(process.execPath, ['-e', SPIN], { stdio: 'ignore' });
  child.on('error', () => undefined);
  loops.push(child);
}

function stopLoops() {
  for (const child of loops) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
process.on('exit', stopLoops);

const fmt = (l) => l.map((x) => x.toFixed(2)).join(' ');
const startLoad = loadavg();
const started = process.hrtime.bigint();
console.error(`test-contended: ${command.join(' ')} beside ${spinners} busy loop(s) on ${cpus().length} CPU(s); load average ${fmt(startLoad)}`);

const run = spawn(command[0], command.slice(1), { stdio: 'inherit', shell: process.platform === 'win32' });

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    // Stop contending at once; the command gets the signal (a terminal's Ctrl-C already reached it) and is waited for.
    stopLoops();
    if (run.exitCode === null && run.signalCode === null) run.kill(sig);
  });
}

function finish(code) {
  stopLoops();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.error(`test-contended: exit code ${code} after ${seconds.toFixed(1)} s beside ${spinners} busy loop(s); load average at start ${fmt(startLoad)}, at end ${fmt(loadavg())}`);
  process.exit(code);
}

run.on('error', (err) => {
  console.error(`test-contended: could not start ${command[0]}: ${err.message}`);
  finish(127);
});
run.on('exit', (code, signal) => {
  finish(code ?? 128 + (constants.signals[signal] ?? 1));
});
