#!/usr/bin/env node
// Makes sure the Chromium the browser tests and the example's screenshot script drive exists:
// Debian's package (/usr/bin/chromium; LBRX_CHROMIUM names another binary). Playwright never
// downloads a browser here. When it is missing on Debian/Ubuntu and this runs as root, installs
// it with apt-get; otherwise prints the exact command and exits 1.
//
// Env: LBRX_CHROMIUM=/path/to/chromium   use this binary instead
//      LBRX_ENSURE_NO_INSTALL=1          never install; print what would be run and exit 1
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';

const CHROMIUM = process.env.LBRX_CHROMIUM || '/usr/bin/chromium';
const COMMANDS = ['apt-get update', 'apt-get install -y chromium'];

const log = (msg) => console.log(`ensure-chromium: ${msg}`);
const fail = (msg) => {
  console.error(`ensure-chromium: ${msg}`);
  process.exit(1);
};

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `chromium --version`, or null when it does not run. */
function version() {
  const r = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  const line = (r.stdout ?? '').split('\n').find((l) => /\d+\.\d+/.test(l));
  return r.status === 0 && line ? line.trim() : null;
}

function ready() {
  if (!executable(CHROMIUM)) return false;
  const v = version();
  if (!v) fail(`${CHROMIUM} exists but \`${CHROMIUM} --version\` fails; reinstall it (${COMMANDS.join(' && ')}) or set LBRX_CHROMIUM.`);
  console.log(`chromium: ${v} (${CHROMIUM})`);
  return true;
}

if (ready()) process.exit(0);

if (process.env.LBRX_CHROMIUM) fail(`LBRX_CHROMIUM=${CHROMIUM} is not an executable file.`);
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
if (process.platform !== 'linux' || !hasApt || !existsSync('/etc/debian_version')) {
  fail(
    `no Chromium at ${CHROMIUM}. Install Chromium or Chrome and point LBRX_CHROMIUM at its binary\n` +
      '  (e.g. LBRX_CHROMIUM="/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" on macOS).',
  );
}
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const manual = `install Debian's Chromium:\n    ${COMMANDS.map((c) => (isRoot ? c : `sudo ${c}`)).join(' && ')}\n  then run this again (or npm run test:browser).`;
if (process.env.LBRX_ENSURE_NO_INSTALL === '1') fail(`no Chromium at ${CHROMIUM}; LBRX_ENSURE_NO_INSTALL=1: not installing anything. To fix it, ${manual}`);
if (!isRoot) fail(`no Chromium at ${CHROMIUM}, and not running as root, so not installing anything. To fix it, ${manual}`);

log(`no Chromium at ${CHROMIUM}; running as root, so installing Debian's package: ${COMMANDS.join(' && ')}`);
for (const cmd of COMMANDS) {
  const r = spawnSync('sh', ['-c', cmd], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) fail(`\`${cmd}\` failed (exit ${r.status ?? r.signal}). To fix it, ${manual}`);
}
if (!ready()) fail(`apt-get installed chromium, but there is still no ${CHROMIUM}.`);
log('installed');
