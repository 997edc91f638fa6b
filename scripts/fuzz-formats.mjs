// Fuzzing the safetensors and GGUF readers, long form (test/fuzz.test.ts runs a short form).
//   npm run --silent build && node scripts/fuzz-formats.mjs [--cases 10000] [--seed 20261126]
//     [--format all|safetensors|gguf] [--timeout-ms 20000] [--cpu-only] [--out DIR] [--case N]
//     [--inject hang@I,crash@J]   (checks the harness itself: case I hangs, case J kills its process)
// Each format's cases run in a child process that loads every mutated file from bytes on the CPU
// and on the GPU (scripts/fuzz-check.mjs says what is checked). The parent watches it: no word
// for --timeout-ms is a hang, a child that dies is a crash; either way the child is replaced and
// the run goes on after that case. Failures (untyped exceptions, disagreements between devices,
// leaked buffers, hangs, crashes) are written to --out as <format>-<seed>-<case>.bin for replay
// with --case. Exit 0: no failure; 1: failures; 2: the harness itself failed.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
function arg(name, fallback) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}
const flag = (name) => argv.includes(`--${name}`);

const opts = {
  cases: Number(arg('cases', '10000')),
  seed: Number(arg('seed', '20261126')),
  formats: arg('format', 'all') === 'all' ? ['safetensors', 'gguf'] : [arg('format', 'all')],
  timeoutMs: Number(arg('timeout-ms', '20000')),
  gpu: !flag('cpu-only'),
  out: arg('out', join(tmpdir(), 'lbrx-fuzz-failures')),
  only: arg('case', null),
  // Harness self-check: case index -> 'hang' | 'crash'.
  inject: new Map((arg('inject', '') || '').split(',').filter(Boolean).map((s) => s.split('@').reverse().map((x, k) => (k ? x : Number(x))))),
};

if (flag('help') || !Number.isInteger(opts.cases) || opts.cases < 1 || !Number.isInteger(opts.seed) ||
    !opts.formats.every((f) => f === 'safetensors' || f === 'gguf')) {
  console.log('usage: node scripts/fuzz-formats.mjs [--cases N] [--seed S] [--format all|safetensors|gguf] [--timeout-ms MS] [--cpu-only] [--out DIR] [--case N] [--inject hang@I,crash@J] [--verbose]');
  process.exit(flag('help') ? 0 : 2);
}

/** The library, its GGUF writer and tensor-type table, from the build. */
async function library() {
  const lb = await import('../dist/index.js');
  const { writeGguf } = await import('../dist/formats/gguf-write.js');
  const { TENSOR_TYPES } = await import('../dist/formats/gguf-header.js');
  const fz = await import('./fuzz-lib.mjs');
  const { runCase } = await import('./fuzz-check.mjs');
  return { lb, writeGguf, TENSOR_TYPES, fz, runCase };
}

async function seedsFor(L, format) {
  return format === 'gguf' ? L.fz.ggufSeeds(L.writeGguf, L.TENSOR_TYPES) : await L.fz.safetensorsSeeds(L.lb);
}

function caseBytes(L, format, seeds, i) {
  const r = L.fz.rng(L.fz.caseSeed(opts.seed, format, i));
  const bytes = L.fz.mutate(r, format, seeds[Math.floor(r() * seeds.length)], seeds);
  return { bytes, ...L.fz.sourceOf(r, bytes), options: L.fz.optionsOf(r, format) };
}

function saveCase(format, i, bytes) {
  mkdirSync(opts.out, { recursive: true });
  const path = join(opts.out, `${format}-${opts.seed}-${i}.bin`);
  writeFileSync(path, bytes);
  return path;
}

// ---------------------------------------------------------------- child: runs cases [from, to)

async function child(format, from, to) {
  const L = await library();
  if (opts.gpu) await L.lb.init({ cacheDir: false });
  const seeds = await seedsFor(L, format);
  for (let i = from; i < to; i++) {
    const { bytes, how, src, options } = caseBytes(L, format, seeds, i);
    // Written first, so a case that hangs or crashes the child can be replayed.
    process.send({ t: 'start', i, bytes: Buffer.from(bytes).toString('base64') });
    if (opts.inject.get(i) === 'hang') for (;;);
    if (opts.inject.get(i) === 'crash') process.kill(process.pid, 'SIGSEGV');
    const t0 = performance.now();
    const res = await L.runCase(L.lb, format, src, { gpu: opts.gpu, bytes, tensorTypes: L.TENSOR_TYPES, options });
    process.send({ t: 'done', i, how: `${how}${Object.keys(options).length ? ` ${JSON.stringify(options)}` : ''}`, ms: performance.now() - t0, ...res });
  }
  await L.lb.shutdown();
  process.send({ t: 'end' });
}

// ---------------------------------------------------------------- parent: watches children

function runFormat(format) {
  const stats = {
    format, tried: 0, loaded: 0, formatErrors: 0, typed: {}, failures: [], hangs: 0, crashes: 0, restarts: 0,
    ms: 0, slowest: { ms: 0, i: -1 }, reasons: {},
  };
  const t0 = performance.now();
  return new Promise((resolve) => {
    let next = 0;
    const spawn = () => {
      if (next >= opts.cases) return resolve({ ...stats, ms: performance.now() - t0 });
      if (stats.restarts > 100) {
        stats.failures.push({ i: next, failure: 'harness', detail: 'over 100 child restarts; stopping' });
        return resolve({ ...stats, ms: performance.now() - t0 });
      }
      const args = ['--child', format, String(next), String(opts.cases), ...argv];
      const c = fork(fileURLToPath(import.meta.url), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      let current = null; // { i, bytes } of the case in flight
      let ended = false;
      let timer = null;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          if (!current) return;
          stats.hangs++;
          stats.tried++;
          fail(current.i, 'hang', `no answer within ${opts.timeoutMs} ms`, current.bytes);
          ended = true;
          c.kill('SIGKILL');
        }, opts.timeoutMs);
      };
      const fail = (i, failure, detail, b64) => {
        const file = b64 ? saveCase(format, i, Buffer.from(b64, 'base64')) : null;
        stats.failures.push({ i, failure, detail: detail.slice(0, 1500), file });
        console.error(`[${format} case ${i}] ${failure}: ${detail.split('\n').slice(0, 6).join('\n  ')}${file ? `\n  saved: ${file}` : ''}`);
      };
      arm();
      c.on('message', (m) => {
        arm();
        if (m.t === 'start') current = { i: m.i, bytes: m.bytes };
        else if (m.t === 'done') {
          stats.tried++;
          if (m.ms > stats.slowest.ms) stats.slowest = { ms: m.ms, i: m.i };
          if (m.outcome === 'loaded') stats.loaded++;
          else if (m.outcome === 'format') {
            stats.formatErrors++;
            const why = reason(m.detail);
            stats.reasons[why] = (stats.reasons[why] ?? 0) + 1;
          }
          else if (m.outcome.startsWith('typed:')) stats.typed[m.outcome.slice(6)] = (stats.typed[m.outcome.slice(6)] ?? 0) + 1;
          if (m.failure) fail(m.i, m.failure, `${m.how}: ${m.detail}`, current?.bytes);
          next = m.i + 1;
          current = null;
          if (stats.tried % 1000 === 0) {
            const s = ((performance.now() - t0) / 1000).toFixed(0);
            console.log(`${format}: ${stats.tried} cases, ${stats.loaded} loaded, ${stats.formatErrors} FormatError, ${stats.failures.length} failures (${s} s)`);
          }
        } else if (m.t === 'end') ended = true;
      });
      c.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (!ended || code !== 0) {
          // A child that died mid-case crashed on it; one that died between cases, at the next.
          const i = current?.i ?? next;
          if (!stats.failures.some((f) => f.i === i && f.failure === 'hang')) {
            stats.crashes++;
            stats.tried++;
            fail(i, 'crash', `child exited with ${signal ?? `code ${code}`}`, current?.bytes);
          }
          next = i + 1;
          stats.restarts++;
        }
        spawn();
      });
    };
    spawn();
  });
}

/** A FormatError message with its numbers, names and quoted values blanked: which check fired. */
function reason(detail) {
  return detail.replace(/^at \d+: \S+: at byte \d+: /, '').replace(/'[^']*'|"[^"]*"|\[[^\]]*\]|\d+(\.\d+)?(e[+-]?\d+)?/g, '#').slice(0, 90);
}

function report(results) {
  const lines = [
    `| format | cases tried | loaded (checked) | FormatError | other typed errors | untyped | disagreements | leaks | hangs | crashes | failures | time |`,
    `|---|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|`,
  ];
  for (const s of results) {
    const by = (k) => s.failures.filter((f) => f.failure === k).length;
    const typed = Object.entries(s.typed).map(([k, v]) => `${k} ${v}`).join(', ') || '0';
    lines.push(`| ${s.format} | ${s.tried} | ${s.loaded} | ${s.formatErrors} | ${typed} | ${by('untyped')} | ${by('disagree')} | ${by('leak')} | ${s.hangs} | ${s.crashes} | **${s.failures.length}** | ${(s.ms / 1000).toFixed(0)} s |`);
  }
  return lines.join('\n');
}

async function replay(format, i) {
  const L = await library();
  if (opts.gpu) await L.lb.init({ cacheDir: false });
  const seeds = await seedsFor(L, format);
  const { bytes, how, src, options } = caseBytes(L, format, seeds, i);
  const file = saveCase(format, i, bytes);
  const res = await L.runCase(L.lb, format, src, { gpu: opts.gpu, bytes, tensorTypes: L.TENSOR_TYPES, options });
  console.log(JSON.stringify({ format, case: i, how, options, bytes: bytes.length, file, ...res }, null, 2));
  await L.lb.shutdown();
  process.exitCode = res.failure ? 1 : 0;
}

async function main() {
  if (argv[0] === '--child') return child(argv[1], Number(argv[2]), Number(argv[3]));
  if (opts.only !== null) return replay(opts.formats[0], Number(opts.only));
  console.log(`fuzzing ${opts.formats.join(' and ')}: ${opts.cases} cases each, seed ${opts.seed}, ${opts.gpu ? 'CPU and GPU loads' : 'CPU loads only'}, ${opts.timeoutMs} ms per case`);
  const results = [];
  for (const f of opts.formats) results.push(await runFormat(f));
  console.log(`\n${report(results)}\n`);
  for (const s of results) {
    console.log(`${s.format}: slowest case ${s.slowest.i} (${s.slowest.ms.toFixed(0)} ms); ${Object.keys(s.reasons).length} distinct FormatError checks fired, most often:`);
    for (const [why, n] of Object.entries(s.reasons).sort((a, b) => b[1] - a[1]).slice(0, flag('verbose') ? 1000 : 12)) console.log(`  ${String(n).padStart(6)}  ${why}`);
  }
  const failed = results.reduce((n, s) => n + s.failures.length, 0);
  console.log(JSON.stringify({ seed: opts.seed, cases: opts.cases, results: results.map(({ failures, reasons, ...s }) => ({ ...s, failures: failures.length, checks: Object.keys(reasons).length })) }));
  console.log(failed ? `FAIL: ${failed} failure(s); files in ${opts.out}` : 'PASS');
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
