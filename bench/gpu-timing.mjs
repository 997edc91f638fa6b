// GPU-side timing shared by the benchmark families: K evaluations per batch timed submit to done
// after a warm-up (an idle GPU needs about a second of work to reach its clocks), and the
// device's raw copy bandwidth, the in-run baseline of every bandwidth row.
import { gbps, median } from './lib.mjs';

const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const STORAGE = 0x80;
/**
 * GPU clocks drop when the device idles for a second or so and ramp back up over a second or more
 * of bursty work (an H100 went from 345 to 1980 MHz in ~1.5 s), which doubled kernel times in
 * early runs. So a measurement first repeats its own work for WARM_MS of wall time, untimed.
 */
export const WARM_MS = 1500;

/**
 * Runs `batch()` (one warm-up batch; resolves to its time) once, then for at least `warmMs` and
 * until the batches of the last `windowMs` are no more than 3% faster than those of the window
 * before (at most 4 x warmMs + 2 s): an idle H100 drops its SM clock to 345 MHz (throttle reason
 * GpuIdle, e.g. while a pipeline compiles or the CPU makes weights) and brings it back in steps
 * (450, 570, 750, 1335, 1980 MHz) that can each last 0.75 s under load, so 300 ms windows settled
 * on a step and timed a matvec at a third of the clock.
 */
export async function warmUntilSteady(batch, warmMs = WARM_MS, windowMs = 500) {
  const w0 = performance.now();
  const seen = []; // [end time, batch time]
  for (;;) {
    const ms = await batch(); // at least one: it compiles what the timed batches run
    if (warmMs <= 0) return;
    const now = performance.now() - w0;
    seen.push([now, ms]);
    if (now >= 4 * warmMs + 2000) return;
    if (now < warmMs) continue;
    const recent = seen.filter(([t]) => t > now - windowMs).map(([, v]) => v);
    const before = seen.filter(([t]) => t <= now - windowMs && t > now - 2 * windowMs).map(([, v]) => v);
    if (recent.length >= 2 && before.length >= 2 && median(recent) >= 0.97 * median(before)) return;
  }
}

const HEATER_WGSL = `@group(0) @binding(0) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(1) var<uniform> p: vec4<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  var a = vec4<f32>(f32(g.x) * 1e-9);
  let b = vec4<f32>(bitcast<f32>(p.y));
  for (var i = 0u; i < p.x; i = i + 1u) { a = fma(a, b, b); }
  if (a.x == 12345.0) { o[0] = a; } // never true: keeps the loop alive
}`;

/**
 * Keeps the GPU busy while the CPU records a batch: one dispatch of a dependent FMA loop (a few
 * workgroups, so little power), whose length is set per submit. Recording a call can take longer
 * than running it (Dawn: ~60 us per dispatch, a decode matvec runs ~30 us), and a GPU idle that
 * often lowers its clock (an H100 sat at 500-1300 MHz through batches of small matmuls).
 */
class Heater {
  constructor(dev) {
    const device = (this.device = dev.device);
    this.out = device.createBuffer({ size: 16, usage: STORAGE, label: 'bench heater out' });
    this.params = device.createBuffer({ size: 16, usage: 0x40 | COPY_DST, label: 'bench heater params' }); // UNIFORM
    const module = device.createShaderModule({ label: 'bench heater', code: HEATER_WGSL });
    this.pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    this.group = device.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: this.out } }, { binding: 1, resource: { buffer: this.params } }],
    });
    this.itersPerMs = null;
    this.recordMs = 5; // the last batch's recording time, which the next heater covers
  }

  submitIters(iters) {
    const p = new Uint32Array([Math.max(1, Math.round(iters)), 0, 0, 0]);
    new Float32Array(p.buffer, 4, 1)[0] = 0.999999;
    this.device.queue.writeBuffer(this.params, 0, p);
    const enc = this.device.createCommandEncoder({ label: 'bench heater' });
    const pass = enc.beginComputePass();
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.group);
    pass.dispatchWorkgroups(256);
    pass.end();
    this.device.queue.submit([enc.finish()]);
  }

  /** Submits GPU work for about the last recording time (not awaited); measures its loop's speed the first time. */
  async submit() {
    const ms = 1.3 * this.recordMs + 1;
    if (this.itersPerMs === null) {
      this.submitIters(100_000);
      const a = performance.now();
      await this.device.queue.onSubmittedWorkDone();
      this.itersPerMs = 100_000 / Math.max(performance.now() - a, 0.01);
    }
    this.lastIters = Math.min(ms, 200) * this.itersPerMs;
    this.submitIters(this.lastIters);
    this.submittedAt = performance.now();
  }

  /**
   * After waiting for the last heater: if it was still running, its length (submit to done) gives
   * the loop's speed at the present clock; if it had ended, it was too short: lengthen it.
   */
  observe(recordMs, waitedMs) {
    this.recordMs = recordMs;
    if (waitedMs > 0.3) this.itersPerMs = this.lastIters / (performance.now() - this.submittedAt);
    else this.itersPerMs *= 2;
  }
}

const heaters = new WeakMap();
function heaterFor(dev) {
  let h = heaters.get(dev);
  if (!h) heaters.set(dev, (h = new Heater(dev)));
  return h;
}

/**
 * One timed batch at a busy GPU's clocks: a heater is submitted, the K calls are recorded while it
 * runs (`recordAll()` returns what to dispose; tensors it returns are realized), then once the heater
 * is done the batch is encoded, submitted and timed from submit to done. The heater's length
 * follows the previous batch's recording time, so the GPU idles only while the batch is encoded.
 * On software adapters (`hot` false) no heater. Returns GPU ms of the batch and the CPU phases.
 */
export async function hotBatch(lb, recordAll, hot = true) {
  const dev = lb.device();
  const heater = hot ? heaterFor(dev) : null;
  if (heater) await heater.submit();
  const r0 = performance.now();
  const outs = recordAll().flat();
  for (const o of outs) o.realize?.();
  const r1 = performance.now();
  if (heater) {
    await dev.device.queue.onSubmittedWorkDone();
    heater.observe(r1 - r0, performance.now() - r1);
  }
  const w = performance.now();
  await dev.stream.submit();
  const a = performance.now();
  await dev.device.queue.onSubmittedWorkDone();
  const ms = performance.now() - a;
  await dev.checkErrors();
  for (const o of outs) o.dispose();
  return { ms, recordMs: r1 - r0, waitedMs: w - r1, encodeMs: a - w, wallMs: performance.now() - r0 };
}

/**
 * Times `record()` (which records one evaluation and returns what to dispose) K per batch, GPU side
 * (`hotBatch`; no heater when `warmMs` is 0, as on software adapters). `created`: GPU buffers created
 * in the last round; `createdTimed`: in all timed rounds (0: the pool served every output).
 */
export async function timeBatches(lb, record, k, rounds, warmMs = WARM_MS) {
  const hot = warmMs > 0;
  const recordAll = () => Array.from({ length: k }, () => record());
  const per = [];
  let info = null;
  await warmUntilSteady(async () => (await hotBatch(lb, recordAll, hot)).ms, warmMs);
  const created0 = lb.memory().created;
  for (let r = 1; r <= rounds; r++) {
    const s0 = lb.streamStats();
    const m0 = lb.memory();
    const { ms } = await hotBatch(lb, recordAll, hot);
    const s1 = lb.streamStats();
    const m1 = lb.memory();
    per.push(ms / k);
    info = { dispatchesPerEval: (s1.dispatches - s0.dispatches) / k, submits: s1.submits - s0.submits, created: m1.created - m0.created };
  }
  return { ms: median(per), min: Math.min(...per), max: Math.max(...per), samples: per.length, k, ...info, createdTimed: lb.memory().created - created0 };
}

/**
 * Raw device copy of `bytes`, K per command buffer, submit to done: `copyBufferToBuffer`, or
 * (`kernel`) a hand-written WGSL copy, one vec4 per thread, through the same WebGPU device; or
 * (`kernel` = 'read') a WGSL kernel that only reads the bytes (4 coalesced vec4 loads per
 * thread, nothing written): the most a read-only kernel such as a matvec can reach at this size.
 */
export async function copyBandwidth(dev, bytes, rounds, kernel = false, warmMs = WARM_MS) {
  const device = dev.device;
  // The read kernel cycles through copies of its bytes (> 160 MB in all) so that L2 cannot serve them.
  const stride = Math.ceil(bytes / 256) * 256;
  const copies = kernel === 'read' ? Math.max(1, Math.ceil(160e6 / stride)) : 1;
  const src = device.createBuffer({ size: stride * copies, usage: STORAGE | COPY_SRC | COPY_DST, label: 'bench copy src' });
  const dst = device.createBuffer({ size: bytes, usage: STORAGE | COPY_SRC | COPY_DST, label: 'bench copy dst' });
  const k = Math.max(4, Math.min(64, Math.floor((4 * 1024 ** 3) / bytes)));
  let encode = (enc) => enc.copyBufferToBuffer(src, 0, dst, 0, bytes);
  if (kernel) {
    const vecs = Math.floor(bytes / 16);
    const read = kernel === 'read';
    const perThread = read ? 4 : 1;
    const body = read
      // Never true for the bench's buffers (zeros): the store only keeps the loads alive.
      ? `var x = vec4<u32>(0u);
  for (var j = 0u; j < 4u; j = j + 1u) { let e = (g.x + g.y * nw.x * 256u) + j * nw.x * nw.y * 256u; if (e < ${vecs}u) { x = x ^ a[e]; } }
  if (all(x == vec4<u32>(0x9e3779b9u))) { o[0] = x; }`
      : `let i = g.x + g.y * nw.x * 256u;
  if (i < ${vecs}u) { o[i] = a[i]; }`;
    const module = device.createShaderModule({
      label: read ? 'bench read kernel' : 'bench copy kernel',
      code: `@group(0) @binding(0) var<storage, read> a: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> o: array<vec4<u32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  ${body}
}`,
    });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const groups = Array.from({ length: copies }, (_, i) => device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: src, offset: i * stride, size: Math.ceil(bytes / 16) * 16 } }, { binding: 1, resource: { buffer: dst } }],
    }));
    let turn = 0;
    const { workgroups } = dev.stream.grid(Math.ceil(vecs / 256 / perThread));
    encode = (enc) => {
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, groups[turn++ % copies]);
      pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
      pass.end();
    };
  }
  const per = [];
  try {
    const w0 = performance.now();
    for (let r = 0; r <= rounds; r++) {
      const enc = device.createCommandEncoder({ label: 'bench copy' });
      for (let i = 0; i < k; i++) encode(enc);
      const cb = enc.finish();
      const a = performance.now();
      device.queue.submit([cb]);
      await device.queue.onSubmittedWorkDone();
      if (r === 0 && performance.now() - w0 < warmMs) r--; // warm-up, untimed (see WARM_MS)
      else if (r > 0) per.push((performance.now() - a) / k);
    }
  } finally {
    src.destroy();
    dst.destroy();
  }
  return { ms: median(per), min: Math.min(...per), max: Math.max(...per), samples: per.length, k };
}

/** The better of copyBufferToBuffer and the WGSL copy kernel over `bytes` (read + write GB/s). */
export async function deviceCopy(dev, bytes, rounds, warmMs = WARM_MS) {
  const all = {
    copyBufferToBuffer: await copyBandwidth(dev, bytes, rounds, false, warmMs),
    'WGSL vec4 copy kernel': await copyBandwidth(dev, bytes, rounds, true, warmMs),
  };
  const [name, stats] = Object.entries(all).sort((a, b) => a[1].ms - b[1].ms)[0];
  return { name, gbs: gbps(2 * bytes, stats.ms), stats, all };
}
