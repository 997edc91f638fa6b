// Device probe harness for the subgroup-matrix attention kernel: builds the kernel source for a
// plan (optionally patched), dispatches it on contiguous f16 q, k, v [1, H, L, D] / [1, H, S, D]
// and compares with an f64 reference. Imports the snapshot's dist.
import * as lb from './dist/index.js';
import { requireDevice } from './dist/runtime/context.js';
import { buildKernel } from './dist/kernels/registry.js';
import { sgmatAttentionCode } from './dist/ops/attention-sgmat.js';
import { operandCode, enables } from './dist/ops/attention-kernels.js';
import { storeValue } from './dist/ops/wgsl-types.js';

export { lb };
export async function init() {
  await lb.init({ cacheDir: false });
  return requireDevice('probe');
}

// f16 <-> f32 for values on a 1/64 grid in [-2, 2] (exact in f16) and for decoding outputs.
export function f16bits(x) {
  if (x === 0) return Object.is(x, -0) ? 0x8000 : 0;
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const s = (u >>> 16) & 0x8000;
  const e = ((u >>> 23) & 0xff) - 112;
  return s | (e << 10) | ((u >>> 13) & 0x3ff);
}
export function f16val(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
export function rnd(n, seed) {
  let s = seed >>> 0;
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = Math.round(((s / 4294967296) * 2 - 1) * 64) / 64;
  }
  return a;
}
const pack = (a) => {
  const w = new Uint32Array(Math.ceil(a.length / 2) + 4);
  for (let i = 0; i < a.length; i++) w[i >> 1] |= f16bits(a[i]) << (16 * (i & 1));
  return w;
};

/** Problem data and reference output [H, L, D]. */
export function problem(H, L, S, D, causal, seed = 1) {
  const q = rnd(H * L * D, seed), k = rnd(H * S * D, seed + 1), v = rnd(H * S * D, seed + 2);
  const scale = 1 / Math.sqrt(D);
  const ref = new Float64Array(H * L * D);
  const sc = new Float64Array(S);
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < L; i++) {
      const end = causal ? Math.max(0, Math.min(S, i + S - L + 1)) : S;
      let mx = -Infinity;
      for (let j = 0; j < end; j++) {
        let t = 0;
        for (let d = 0; d < D; d++) t += q[(h * L + i) * D + d] * k[(h * S + j) * D + d];
        sc[j] = t * scale;
        mx = Math.max(mx, sc[j]);
      }
      let sum = 0;
      for (let j = 0; j < end; j++) { sc[j] = Math.exp(sc[j] - mx); sum += sc[j]; }
      for (let d = 0; d < D; d++) {
        let o = 0;
        for (let j = 0; j < end; j++) o += sc[j] * v[(h * S + j) * D + d];
        ref[(h * L + i) * D + d] = end ? o / sum : 0;
      }
    }
  }
  return { H, L, S, D, causal, q, k, v, ref, scale };
}

/** Kernel source for a plan, with defines (`over`) replaced and text patches applied. */
export function source(plan, D, causal, { over = {}, patches = [] } = {}) {
  const ops = ['q', 'k', 'v'].map((name) => operandCode({ name, dtype: 'f16', vec: true }));
  const code = sgmatAttentionCode(plan, D);
  const defines = {
    D, Q_ARR: ops[0].arr, K_ARR: ops[1].arr, V_ARR: ops[2].arr, Q_RAW: ops[0].raw, K_RAW: ops[1].raw, V_RAW: ops[2].raw,
    LOADERS: ops.map((o) => o.code).join('\n\n'), M_STORE: 'f32', M_LOAD: '0.0', HAS_MASK: false, KVLEN: false, CAUSAL: !!causal,
    HALF_WORDS: true, ATOMIC: false, OUT_STORE: 'u32', STORE: storeValue('f16', 'f32'), SPLIT: false, COMBINE: false, F16: true,
    ENABLE: enables(true, true, !plan.emulate), DECODE: false, TILE: false, SGMAT: true, SUBGROUPS: true, ...code,
  };
  for (const [k, v] of Object.entries(typeof over === 'function' ? over(code) : over)) defines[k] = v;
  let src = buildKernel('attention_sgmat', defines);
  for (const [from, to] of patches) {
    const next = typeof from === 'string' ? src.split(from).join(to) : src.replace(from, to);
    if (next === src) throw new Error(`patch not applied: ${String(from).slice(0, 80)}`);
    src = next;
  }
  return src;
}

/** Compiles and runs `src` on problem p; returns { out (f32 of f16 bits or raw u32), err }. */
export async function runKernel(dev, src, plan, p, { raw = false, extraQ = false, bind = {}, drop = [] } = {}) {
  const device = dev.device;
  const { H, L, S, D } = p;
  const rblocks = Math.ceil(L / plan.bq);
  const groups = H * rblocks;
  const f32bits = (x) => new Uint32Array(new Float32Array([x]).buffer)[0];
  const words = [0, 0, 0, 0, H * L * D, L * D, D, 1, H * S * D, S * D, D, 1, H * S * D, S * D, D, 1, 0, 0, 0, 0,
    H, L, S, 1, rblocks, groups, f32bits(p.scale * Math.LOG2E), groups, 1, S, L, 0];
  const mk = (data, usage) => {
    const b = device.createBuffer({ size: Math.max(16, data.byteLength), usage: usage | 8 });
    device.queue.writeBuffer(b, 0, data);
    return b;
  };
  const outWords = Math.max((H * L * D) / 2, 65536);
  const bufs = { 0: mk(new Uint32Array(words), 0x40), 1: mk(pack(p.q), 0x80), 2: mk(pack(p.k), 0x80), 3: mk(pack(p.v), 0x80) };
  bufs[4] = mk(new Uint32Array(outWords).fill(0x7e007e00), 0x80 | 4);
  if (extraQ) bufs[8] = bufs[1];
  for (const [b, from] of Object.entries(bind)) bufs[b] = bufs[from];
  const used = Object.fromEntries(Object.entries(bufs).filter(([b]) => !drop.includes(Number(b))));
  const rb = device.createBuffer({ size: outWords * 4, usage: 1 | 8 });
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: src });
  const info = await module.getCompilationInfo();
  const errs = info.messages.filter((m) => m.type === 'error');
  if (errs.length) {
    await device.popErrorScope();
    return { err: errs.slice(0, 3).map((m) => `${m.lineNum}: ${m.message} [${src.split('\n')[m.lineNum - 1]?.trim()}]`).join(' / ') };
  }
  const pipe = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const entries = Object.entries(used).map(([b, buffer]) => ({ binding: Number(b), resource: { buffer } }));
  const bg = device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipe);
  pass.setBindGroup(0, bg);
  pass.dispatchWorkgroups(groups);
  pass.end();
  enc.copyBufferToBuffer(bufs[4], 0, rb, 0, outWords * 4);
  device.queue.submit([enc.finish()]);
  const verr = await device.popErrorScope();
  if (verr) return { err: verr.message.split('\n').slice(0, 3).join(' / ') };
  await rb.mapAsync(1);
  const u = new Uint32Array(rb.getMappedRange().slice(0));
  rb.unmap();
  for (const b of Object.values(bufs)) b.destroy();
  rb.destroy();
  if (raw) return { u, f: new Float32Array(u.buffer) };
  const out = new Float64Array(H * L * D);
  for (let i = 0; i < out.length; i++) out[i] = f16val((u[i >> 1] >>> (16 * (i & 1))) & 0xffff);
  return { out };
}

/** Max error and which rows are wrong (ranges), per head. */
export function compare(p, out, tol = 4e-3) {
  const { H, L, D, ref } = p;
  let worst = 0;
  const bad = [];
  for (let r = 0; r < H * L; r++) {
    let e = 0;
    for (let d = 0; d < D; d++) {
      const x = out[r * D + d], y = ref[r * D + d];
      const t = Number.isNaN(x) ? 99 : Math.abs(x - y);
      e = Math.max(e, t);
    }
    worst = Math.max(worst, e);
    if (e > tol + 0) bad.push(r);
  }
  const ranges = [];
  for (const r of bad) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === r - 1) last[1] = r;
    else ranges.push([r, r]);
  }
  const txt = ranges.slice(0, 12).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',') + (ranges.length > 12 ? ` …(${ranges.length} ranges)` : '');
  return { worst, nbad: bad.length, rows: H * L, txt };
}

export const fmt = (c) => (c.err ? `ERROR ${c.err}` : `max err ${c.worst.toExponential(2)}, wrong rows ${c.nbad}/${c.rows}${c.nbad ? ` [${c.txt}]` : ''}`);

/** GPU time per dispatch (ms) of `src` on random data [1, H, L|S, D], after ~1 s of warm-up. */
export async function timeKernel(dev, src, plan, H, L, S, D, { extraQ = false, reps = 20, bind = {}, drop = [] } = {}) {
  const device = dev.device;
  const rblocks = Math.ceil(L / plan.bq);
  const groups = H * rblocks;
  const gx = Math.min(groups, 65535);
  const f32bits = (x) => new Uint32Array(new Float32Array([x]).buffer)[0];
  const words = [0, 0, 0, 0, H * L * D, L * D, D, 1, H * S * D, S * D, D, 1, H * S * D, S * D, D, 1, 0, 0, 0, 0,
    H, L, S, 1, rblocks, gx, f32bits(Math.LOG2E / Math.sqrt(D)), groups, 1, S, L, 0];
  const mk = (words32, usage) => {
    const b = device.createBuffer({ size: Math.max(16, words32.byteLength), usage: usage | 8 });
    device.queue.writeBuffer(b, 0, words32);
    return b;
  };
  const randWords = (n, seed) => { const w = new Uint32Array(n / 2); let s = seed; for (let i = 0; i < w.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; w[i] = ((s >>> 20) & 0x3ff | 0x3800) | ((((s >>> 4) & 0x3ff) | 0xb800) << 16); } return w; };
  const bufs = { 0: mk(new Uint32Array(words), 0x40), 1: mk(randWords(H * L * D, 1), 0x80), 2: mk(randWords(H * S * D, 2), 0x80), 3: mk(randWords(H * S * D, 3), 0x80) };
  bufs[4] = device.createBuffer({ size: H * L * D * 2, usage: 0x80 | 4 });
  if (extraQ) bufs[8] = bufs[1];
  for (const [b, from] of Object.entries(bind)) bufs[b] = bufs[from];
  for (const b of drop) delete bufs[b];
  const module = device.createShaderModule({ code: src });
  const pipe = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bg = device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: Object.entries(bufs).map(([b, buffer]) => ({ binding: Number(b), resource: { buffer } })) });
  const submit = (n) => {
    const enc = device.createCommandEncoder();
    for (let i = 0; i < n; i++) {
      const pass = enc.beginComputePass();
      pass.setPipeline(pipe);
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(gx, Math.ceil(groups / gx));
      pass.end();
    }
    device.queue.submit([enc.finish()]);
    return device.queue.onSubmittedWorkDone();
  };
  const t0 = performance.now();
  while (performance.now() - t0 < 1000) await submit(5);
  let best = Infinity;
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    await submit(reps);
    best = Math.min(best, (performance.now() - t) / reps);
  }
  for (const b of Object.values(bufs)) b.destroy();
  return best;
}
