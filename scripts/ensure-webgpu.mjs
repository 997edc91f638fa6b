#!/usr/bin/env node
// Checks that Dawn (npm `webgpu`) finds a WebGPU adapter. On Linux without one, as root on
// Debian/Ubuntu, installs Mesa >= 24 lavapipe (a Vulkan driver on the CPU) and checks again;
// otherwise prints what to install and exits 1.
//
// Env: LBRX_SKIP_ADAPTER_CHECK=1  skip everything (exit 0)
//      LBRX_ENSURE_NO_INSTALL=1   never install; print what would be run and exit 1
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BACKPORTS_LINE = 'deb http://deb.debian.org/debian bookworm-backports main';
const BACKPORTS_FILE = '/etc/apt/sources.list.d/bookworm-backports.list';
const MIN_MESA = 24;
const PROBE_TIMEOUT_MS = 20_000;

const log = (msg) => console.log(`ensure-webgpu: ${msg}`);
const fail = (msg) => {
  console.error(`ensure-webgpu: ${msg}`);
  process.exit(1);
};

if (process.env.LBRX_SKIP_ADAPTER_CHECK === '1') {
  log('LBRX_SKIP_ADAPTER_CHECK=1: skipping the WebGPU adapter check');
  process.exit(0);
}

const xdgUnset = !process.env.XDG_RUNTIME_DIR;
const childEnv = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR || '/tmp' };

let webgpuUrl;
try {
  webgpuUrl = pathToFileURL(createRequire(join(root, 'package.json')).resolve('webgpu')).href;
} catch {
  fail("the 'webgpu' package is not installed; run `npm install` (or `npm ci`) first");
}

// Runs in a child process, so a Dawn crash cannot take this one down. `gpu` stays
// reachable until the process exits (Dawn crashes if it is collected while in use).
const PROBE = `
const { create } = await import(${JSON.stringify(webgpuUrl)});
globalThis.__gpu = create([]);
const a = await globalThis.__gpu.requestAdapter();
const i = a ? a.info : null;
const out = i ? { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description } : null;
process.stdout.write('LBRX_PROBE ' + JSON.stringify(out) + '\\n');
`;

/** { adapter: {vendor, architecture, device, description} | null, detail: string } */
function probe() {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE], {
    cwd: root,
    env: childEnv,
    encoding: 'utf8',
    timeout: PROBE_TIMEOUT_MS,
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('LBRX_PROBE '));
  const adapter = line ? JSON.parse(line.slice('LBRX_PROBE '.length)) : null;
  let why = '';
  if (r.error?.code === 'ETIMEDOUT') why = `the check timed out after ${PROBE_TIMEOUT_MS / 1000} s`;
  else if (r.error) why = `could not run the check: ${r.error.message}`;
  else if (r.signal) why = `the check process was killed by ${r.signal} (Dawn crashed)`;
  else if (!line) why = `the check process exited with code ${r.status}`;
  else if (!adapter) why = 'Dawn returned no adapter';
  const stderr = (r.stderr ?? '').trim();
  return { adapter, detail: why + (stderr ? `\nDawn/Vulkan said:\n${indent(stderr)}` : '') };
}

function indent(text) {
  return text
    .split('\n')
    .slice(-15)
    .map((l) => `    ${l}`)
    .join('\n');
}

function describe(a) {
  const desc = a.description || a.device || 'unknown';
  const extra = [a.vendor, a.architecture].filter(Boolean).join(', ');
  return extra ? `${desc} (${extra})` : desc;
}

function succeed(a) {
  console.log(`webgpu: adapter ${describe(a)}`);
  if (xdgUnset) log('note: XDG_RUNTIME_DIR is not set; the check used /tmp. Run `export XDG_RUNTIME_DIR=/tmp` in your shell.');
  process.exit(0);
}

// ---- 1. Is there an adapter already? (the fast path)
const first = probe();
if (first.adapter) succeed(first.adapter);

console.error(`ensure-webgpu: Dawn (npm 'webgpu') found no WebGPU adapter: ${first.detail}`);

// ---- 2. No adapter: work out what would fix it.
if (process.platform === 'darwin') {
  // webgpu's postinstall (which npm 11 does not run unless approved) only removes this attribute.
  const dawnNode = join(dirname(fileURLToPath(webgpuUrl)), 'dist', 'darwin-universal', 'dawn.node');
  const xattr = spawnSync('xattr', ['-l', dawnNode], { encoding: 'utf8' });
  if ((xattr.stdout ?? '').includes('com.apple.quarantine')) {
    fail(`Dawn's binary is quarantined by macOS; run:\n    xattr -d com.apple.quarantine ${dawnNode}\n  then run this again.`);
  }
  fail('on macOS lbrx needs Metal: macOS 13+ on Apple Silicon or a Mac with a Metal GPU. Nothing can be installed for you.');
}
if (process.platform !== 'linux') {
  fail('install a current GPU driver with D3D12 or Vulkan support, then run this again.');
}

const XDG_HINT = xdgUnset ? '\n  and set XDG_RUNTIME_DIR:  export XDG_RUNTIME_DIR=/tmp' : '';

function osRelease() {
  const out = {};
  try {
    for (const line of readFileSync('/etc/os-release', 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line);
      if (m) out[m[1]] = m[2].replace(/^["']|["']$/g, '');
    }
  } catch {}
  return out;
}

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : null;
}

const hasApt = sh('sh', ['-c', 'command -v apt-get']) !== null;
const os = osRelease();
const debianVersion = existsSync('/etc/debian_version') ? readFileSync('/etc/debian_version', 'utf8').trim() : '';
// Ubuntu's /etc/debian_version says e.g. 'bookworm/sid', so trust the codename first.
const isBookworm = os.VERSION_CODENAME ? os.VERSION_CODENAME === 'bookworm' : /^12(\.|$)/.test(debianVersion);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const noInstall = process.env.LBRX_ENSURE_NO_INSTALL === '1';

/** Major version of a Debian package version string like `1:25.0.7-2~bpo12+1`, or 0. */
function major(version) {
  const m = /^(?:\d+:)?(\d+)\./.exec(version ?? '');
  return m ? Number(m[1]) : 0;
}

function installedMesa() {
  const v = sh('dpkg-query', ['-W', '-f=${Version}', 'mesa-vulkan-drivers']);
  return v && v.trim() ? v.trim() : null;
}

function candidateMesa() {
  const out = sh('apt-cache', ['policy', 'mesa-vulkan-drivers']) ?? '';
  const m = /Candidate:\s*(\S+)/.exec(out);
  return m && m[1] !== '(none)' ? m[1] : null;
}

const installed = hasApt ? installedMesa() : null;
if (installed && major(installed) >= MIN_MESA) {
  fail(
    `mesa-vulkan-drivers ${installed} (lavapipe) is installed, yet Dawn finds no adapter; installing it again will not help.\n` +
      `  Check the Vulkan loader (libvulkan1) and ICD files in /usr/share/vulkan/icd.d, and that VK_ICD_FILENAMES /\n` +
      `  VK_DRIVER_FILES are not set to something else${xdgUnset ? '; and export XDG_RUNTIME_DIR=/tmp' : ''}.`,
  );
}

// The plan: shell commands (for the message) and the steps that carry them out.
let plan;
if (isBookworm) {
  plan = {
    what: 'Mesa lavapipe (Vulkan on the CPU) from Debian bookworm-backports (bookworm\'s own Mesa 22 is too old for Dawn)',
    commands: [
      `echo '${BACKPORTS_LINE}' > ${BACKPORTS_FILE}   # if bookworm-backports is not in your apt sources yet`,
      'apt-get update',
      'apt-get install -y -t bookworm-backports mesa-vulkan-drivers',
    ],
    run: () => {
      if (!backportsConfigured()) {
        log(`adding apt source ${BACKPORTS_FILE}: ${BACKPORTS_LINE}`);
        writeFileSync(BACKPORTS_FILE, `${BACKPORTS_LINE}\n`);
      } else {
        log('bookworm-backports is already in the apt sources');
      }
      aptGet(['update']);
      aptGet(['install', '-y', '-t', 'bookworm-backports', 'mesa-vulkan-drivers']);
    },
  };
} else if (hasApt && (os.ID === 'debian' || os.ID === 'ubuntu' || /debian|ubuntu/.test(os.ID_LIKE ?? '') || debianVersion)) {
  let candidate = candidateMesa();
  // Fresh images often have no package lists yet; only root can fetch them.
  if (!candidate && isRoot && !noInstall) {
    log('no apt package lists yet: running apt-get update to see which Mesa this release offers');
    aptGet(['update']);
    candidate = candidateMesa();
  }
  if (candidate && major(candidate) >= MIN_MESA) {
    plan = {
      what: `Mesa lavapipe (Vulkan on the CPU), mesa-vulkan-drivers ${candidate} from ${os.PRETTY_NAME ?? 'this release'}`,
      commands: ['apt-get update', 'apt-get install -y mesa-vulkan-drivers'],
      run: () => {
        aptGet(['update']);
        aptGet(['install', '-y', 'mesa-vulkan-drivers']);
      },
    };
  } else {
    fail(
      `${os.PRETTY_NAME ?? 'this system'} offers mesa-vulkan-drivers ${candidate ?? '(unknown version)'}, but Dawn needs Mesa >= ${MIN_MESA}.\n` +
        '  Install Mesa >= 24 with its Vulkan drivers (lavapipe) from a newer release or a backports/PPA source,\n' +
        `  or use a machine with a GPU and a Vulkan driver.${XDG_HINT}`,
    );
  }
} else {
  fail(
    'install Mesa >= 24 with its Vulkan drivers (lavapipe; the package is usually called mesa-vulkan-drivers\n' +
      `  or vulkan-swrast) and the Vulkan loader, or a GPU Vulkan driver, then run this again.${XDG_HINT}`,
  );
}

/** The commands to run by hand (with sudo when not root). */
function manual() {
  if (!plan) return '';
  const lines = plan.commands.map((c) => (isRoot ? c : c.startsWith('echo ') ? c.replace(' > ', ' | sudo tee ') : `sudo ${c}`));
  return `To fix it, install ${plan.what}:\n${lines.map((l) => `    ${l}`).join('\n')}\n  then run this again (or npm test / npm run demo).${XDG_HINT}`;
}

if (noInstall) fail(`LBRX_ENSURE_NO_INSTALL=1: not installing anything.\n${manual()}`);
if (!isRoot) fail(`not running as root, so not installing anything.\n${manual()}`);

function backportsConfigured() {
  const files = ['/etc/apt/sources.list'];
  try {
    for (const f of readdirSync('/etc/apt/sources.list.d')) files.push(join('/etc/apt/sources.list.d', f));
  } catch {}
  return files.some((f) => {
    try {
      return readFileSync(f, 'utf8')
        .split('\n')
        .some((l) => !l.trim().startsWith('#') && /\bbookworm-backports\b/.test(l));
    } catch {
      return false;
    }
  });
}

function aptGet(args) {
  log(`running: apt-get ${args.join(' ')}`);
  const r = spawnSync('apt-get', args, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) fail(`\`apt-get ${args.join(' ')}\` failed (exit ${r.status ?? r.signal}).\n${manual()}`);
}

// ---- 3. Install, then check again.
log(`no WebGPU adapter, so installing ${plan.what}.`);
log(`running as root; this changes the system: ${plan.commands.map((c) => c.replace(/\s+#.*$/, '')).join(' && ')}`);
plan.run();

const second = probe();
if (second.adapter) {
  log('installed; Dawn now finds an adapter');
  succeed(second.adapter);
}
fail(`the install finished, but Dawn still finds no adapter: ${second.detail}`);
