// The subgroup-matrix attention kernel's generated code (src/ops/attention-sgmat.ts,
// wgsl/attention_sgmat.wgsl), checked as text on any adapter: the regression for the H100 bug
// (every output wrong: a 4-byte workgroup variable put the f16 arrays the cooperative-matrix loads
// read off 16-byte alignment), and the forms the plans promise (straight-line softmax, fragment
// shares, constant fragment offsets, K a tile ahead of V, column groups).
import { describe, expect, it } from 'vitest';
import { buildKernel } from '../src/kernels/registry.js';
import { enables, operandCode } from '../src/ops/attention-kernels.js';
import { sgmatAttentionCode, sgmatAttentionPlan, sgmatBytes, type SgmatPlan } from '../src/ops/attention-sgmat.js';
import { storeValue } from '../src/ops/wgsl-types.js';
import type { GpuDevice } from '../src/runtime/device.js';

describe('subgroup-matrix kernel code (regression: every output wrong on the H100)', () => {
  // On the H100 (Vulkan cooperative matrices) the kernel gave wrong S = Q Kᵀ from right Q and K
  // tiles while lavapipe's emulation was exact: a lone `var<workgroup> flag: u32` put the f16 and
  // f32 arrays the matrix loads and stores use off 16-byte alignment in the driver's layout. Every
  // workgroup variable must be a whole number of 16-byte units, whatever order they are laid out in.
  function kernel(plan: SgmatPlan, D: number, opts: { causal: boolean; mask: boolean; kvlen: boolean; split: boolean }): string {
    const ops = (['q', 'k', 'v'] as const).map((name) => operandCode({ name, dtype: 'f16', vec: true }));
    return buildKernel('attention_sgmat', {
      D, Q_ARR: ops[0].arr, K_ARR: ops[1].arr, V_ARR: ops[2].arr, Q_RAW: ops[0].raw, K_RAW: ops[1].raw, V_RAW: ops[2].raw,
      LOADERS: ops.map((o) => o.code).join('\n\n'), M_STORE: 'f32', M_LOAD: opts.mask ? 'mask[i]' : '0.0', HAS_MASK: opts.mask, KVLEN: opts.kvlen,
      CAUSAL: opts.causal, HALF_WORDS: true, ATOMIC: false, OUT_STORE: 'u32', STORE: storeValue('f16', 'f32'), SPLIT: opts.split, COMBINE: false,
      F16: true, ENABLE: enables(true, true, !plan.emulate), DECODE: false, TILE: false, SGMAT: true, SUBGROUPS: true, ...sgmatAttentionCode(plan, D),
    });
  }

  /** Bytes of each workgroup variable the entry point uses, from the kernel's `const` declarations. */
  function workgroupBytes(code: string): Record<string, number> {
    const consts: Record<string, number> = {};
    const value = (expr: string) => {
      const js = expr.replace(/(\d+)u\b/g, '$1').replace(/[A-Z_][A-Z0-9_]*/g, (n) => {
        if (!(n in consts)) throw new Error(`unknown constant ${n} in ${expr}`);
        return String(consts[n]);
      });
      return Math.floor(Function(`return (${js});`)() as number);
    };
    for (const m of code.matchAll(/^const ([A-Z_][A-Z0-9_]*): u32 = ([^;]+);/gm)) consts[m[1]] = value(m[2]);
    const size: Record<string, number> = { f16: 2, f32: 4, u32: 4, i32: 4, 'vec4<u32>': 16, 'vec4<f32>': 16, 'vec2<f32>': 8 };
    const main = code.slice(code.indexOf('fn main('));
    const used = (name: string) => new RegExp(`\\b${name}\\b`).test(main) || [...code.matchAll(/^fn (\w+)\(/gm)].some((f) => {
      // used through a function main calls
      const body = code.slice(f.index, code.indexOf('\n}', f.index));
      return new RegExp(`\\b${name}\\b`).test(body) && new RegExp(`\\b${f[1]}\\(`).test(main);
    });
    const out: Record<string, number> = {};
    for (const m of code.matchAll(/^var<workgroup> (\w+): ([^;]+);/gm)) {
      if (!used(m[1])) continue;
      // array<T, N> or array<array<T, N>, M> (fragment-row blocks)
      let t = m[2];
      const counts: number[] = [];
      for (let arr = /^array<(.+), ([^,>]+)>$/.exec(t); arr; arr = /^array<(.+), ([^,>]+)>$/.exec(t)) {
        counts.unshift(value(arr[2]));
        t = arr[1];
      }
      if (!(t in size)) throw new Error(`unknown type ${t}`);
      out[m[1]] = size[t] * counts.reduce((a, b) => a * b, 1);
      // Each block of an array of blocks is where fragment loads start: a multiple of 16 bytes too.
      if (counts.length > 1) out[`${m[1]} block`] = size[t] * counts[0];
    }
    return out;
  }

  const plans: [SgmatPlan, number][] = [];
  const dev32 = {
    features: { f16: true, subgroups: true, subgroupMatrix: true },
    adapter: { info: { subgroupMinSize: 32, subgroupMaxSize: 32, subgroupMatrixConfigs: [{ componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 }] } },
    limits: { maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024 },
  } as unknown as GpuDevice;
  for (const [sgs, tk, D, rf, db, qs] of [[4, 32, 128, 1, 0, 0], [2, 64, 128, 1, 0, 0], [4, 16, 64, 1, 0, 0], [4, 32, 80, 1, 0, 0], [2, 32, 96, 1, 0, 0],
    [1, 16, 16, 1, 0, 0], [8, 16, 32, 1, 0, 0], [8, 16, 128, 1, 0, 0], [4, 32, 128, 2, 0, 0], [4, 32, 128, 1, 1, 0], [2, 32, 128, 2, 1, 0],
    [4, 16, 96, 2, 1, 0], [1, 16, 16, 2, 1, 0], [4, 32, 128, 1, 0, 1], [4, 16, 128, 1, 1, 1], [2, 16, 80, 2, 0, 1]]) {
    // Flat arrays, and arrays of fragment-row blocks (cf) with K a tile ahead of V (ka) where there is one buffer.
    for (const cf of [false, true]) {
      const plan = sgmatAttentionPlan(dev32, { sgs, tk, rf, db: !!db, qs: !!qs, cf, ka: cf }, D, ['f16', 'f16', 'f16']);
      if (!plan) throw new Error(`no plan for ${[sgs, tk, D, rf, db, cf]}`);
      plans.push([plan, D]);
    }
  }
  // Shares of S and O in column groups of ss and vs (cf), and one whose groups would not fit (sr 2, or 4: 49664 bytes).
  for (const [c, D] of [[{ sgs: 8, tk: 32, sr: 2, or: 2 }, 128], [{ sgs: 8, tk: 32, or: 4 }, 128], [{ sgs: 16, tk: 32, rf: 0.5, or: 2 }, 96],
    [{ sgs: 8, tk: 32, sr: 2, or: 4 }, 128]] as const) {
    plans.push([sgmatAttentionPlan(dev32, { ...c, ka: true, cf: true }, D, ['f16', 'f16', 'f16'])!, D]);
  }

  it('every workgroup variable is a multiple of 16 bytes', () => {
    for (const [plan, D] of plans) {
      for (const kvlen of [false, true]) {
        const opts = { causal: true, mask: kvlen, kvlen, split: kvlen };
        const bytes = workgroupBytes(kernel(plan, D, opts));
        const names = ['ks', 'ps', 'ss', 'vs'];
        expect(Object.keys(bytes).sort(), JSON.stringify(plan)).toEqual(plan.cf ? [...names.map((n) => [n, `${n} block`]).flat()] : names);
        for (const [name, n] of Object.entries(bytes)) expect(n % 16, `${name} (${n} bytes) ${JSON.stringify(plan)} D=${D}`).toBe(0);
        const total = names.reduce((a, n) => a + bytes[n], 0);
        expect(total, 'sgmatBytes counts what the kernel declares').toBe(sgmatBytes(D, plan.bq, plan.tk, plan.kr, plan.db ? 2 : 1, plan.scg, plan.vcg));
        expect(total).toBeLessThanOrEqual(49152);
      }
    }
  });

  it('the check sees a lone u32 (what broke the H100)', () => {
    const [plan, D] = plans[0];
    const good = kernel(plan, D, { causal: true, mask: false, kvlen: false, split: false });
    const bad = good.replace('var<workgroup> ss:', 'var<workgroup> flag: u32;\nvar<workgroup> ss:').replace('let w = wid.x', 'flag = 1u;\n  let w = wid.x');
    expect(bad).not.toBe(good);
    expect(workgroupBytes(bad).flag).toBe(4);
  });

  it('the tile stores past the last unit are clamped, not branched', () => {
    const code = sgmatAttentionCode({ fs: 16, sg: 32, sgs: 4, rf: 1, db: false, qs: false, sr: 1, or: 1, pf: false, cl: false, bq: 64, tk: 32, kr: 64, ka: false, cf: false, rk: false, scg: 1, vcg: 1, emulate: false }, 80);
    // 32 keys x 10 units = 320 units over 128 lanes: the third load clamps to unit 319.
    expect(code.SG_LOAD).toContain('min(lid + 256u, 319u)');
    expect(String(code.SG_LOAD) + String(code.SG_STORE)).not.toContain('if (');
  });

  it('the softmax of a lane\'s keys is straight-line named values; S chains interleaved', () => {
    const code = sgmatAttentionCode({ fs: 16, sg: 32, sgs: 4, rf: 1, db: false, qs: false, sr: 1, or: 1, pf: false, cl: false, bq: 64, tk: 32, kr: 64, ka: false, cf: false, rk: false, scg: 1, vcg: 1, emulate: false }, 128);
    // 32 keys over 2 lanes per row: s0 .. s15.
    expect(String(code.SG_SCORE_ROW).match(/let s\d+ = score\(/g)?.length).toBe(16);
    expect(String(code.SG_P_ROW)).toContain('ps[lpo + 15u * LPR + part_]');
    // S = Q Kᵀ: the two key fragments' MMA chains interleaved per D step.
    expect(String(code.SG_SCORES)).toContain('var s0_0 = Acc(); var s0_1 = Acc();');
    expect(String(code.SG_SCORES).indexOf('s0_1 = subgroupMatrixMultiplyAccumulate(q0_0')).toBeLessThan(String(code.SG_SCORES).indexOf('s0_0 = subgroupMatrixMultiplyAccumulate(q0_1'));
  });

  it('shares of S and O: each K fragment feeds sr multiplies, each V fragment or; Q for the S share only', () => {
    const base = { fs: 16, sg: 32, sgs: 8, rf: 1, db: false, qs: false, pf: false, cl: false, bq: 128, tk: 32, kr: 32, ka: false, cf: false, rk: false, scg: 1, vcg: 1, emulate: false };
    const code = sgmatAttentionCode({ ...base, sr: 2, or: 4 }, 128);
    const sc = String(code.SG_SCORES);
    // S share 32 rows x 16 keys: 8 K fragments, 16 multiplies, 2 stores; Q: 2 x 8 fragments.
    expect(sc.match(/subgroupMatrixLoad<Right>/g)?.length).toBe(8);
    expect(sc.match(/subgroupMatrixMultiplyAccumulate/g)?.length).toBe(16);
    expect(sc.match(/subgroupMatrixStore/g)?.length).toBe(2);
    expect(String(code.SG_QLOAD).match(/subgroupMatrixLoad<Left>/g)?.length).toBe(4 * 16); // 4 passes of 32 rows
    expect(String(code.SG_QLOAD)).toContain('if (sr0 / 32u == 3u) {');
    // O share 64 rows x 32 columns: 8 P fragments, 2 x 2 V fragments, 16 multiplies.
    const pv = String(code.SG_PV);
    expect(pv.match(/subgroupMatrixLoad<Left>/g)?.length).toBe(8);
    expect(pv.match(/subgroupMatrixLoad<Right>/g)?.length).toBe(4);
    expect(pv.match(/subgroupMatrixMultiplyAccumulate/g)?.length).toBe(16);
    expect(code.SG_ROLES).toBe('let sr0 = (sg / 2u) * 32u; let sk0 = (sg % 2u) * 16u; let or0 = (sg / 4u) * 64u; let oc0 = (sg % 4u) * 32u;');
    // The epilogue: 8 O fragments through the subgroup's 2 slots of ss, 4 rounds.
    expect(String(code.SG_EPI).match(/write_frag\(/g)?.length).toBe(8);
    expect(String(code.SG_EPI).match(/workgroupBarrier/g)?.length).toBe(8);
    // The default shares are the softmax rows: all keys, all columns.
    const own = sgmatAttentionCode({ ...base, sr: 1, or: 1 }, 128);
    expect(own.SG_ROLES).toBe('let sr0 = (sg / 1u) * 16u; let sk0 = (sg % 1u) * 32u; let or0 = (sg / 1u) * 16u; let oc0 = (sg % 1u) * 128u;');
    expect(String(own.SG_SCORES).match(/subgroupMatrixLoad<Right>/g)?.length).toBe(16);
    expect(String(own.SG_PV).match(/subgroupMatrixLoad<Right>/g)?.length).toBe(16);
  });

  it('K and V fragment offsets are constant expressions with one buffer and one share (no robustness branch)', () => {
    const base = { fs: 16, sg: 32, sgs: 8, rf: 1, db: false, qs: false, sr: 1, or: 1, pf: true, cl: false, bq: 128, tk: 32, kr: 32, ka: false, cf: false, rk: false, scg: 1, vcg: 1, emulate: false };
    // Tint predicates a fragment load unless offset, stride and array length are all constants.
    const kvLoads = (c: Record<string, string | number>) => [...`${c.SG_SCORES}${c.SG_PV}`.matchAll(/subgroupMatrixLoad<Right>\(&(?:ks|vs), ([^,]+),/g)].map((m) => m[1]);
    const own = kvLoads(sgmatAttentionCode(base, 128));
    expect(own.length).toBe(32);
    for (const off of own) expect(off).toMatch(/^[0-9u+*() KVP]+$/);
    // Shares of keys / columns and a second buffer keep their runtime terms.
    const shared = kvLoads(sgmatAttentionCode({ ...base, sr: 2, or: 4 }, 128));
    expect(shared.some((o) => o.includes('sk0')) && shared.some((o) => o.includes('oc0'))).toBe(true);
    expect(kvLoads(sgmatAttentionCode({ ...base, pf: false, db: true }, 128)).every((o) => o.startsWith('(kb + '))).toBe(true);
  });

  it('cf: every fragment access of the 8 x 32 plan is a block of its array plus a constant offset; rk keeps runtime K / V offsets', () => {
    const base = { fs: 16, sg: 32, sgs: 8, rf: 1, db: false, qs: false, sr: 1, or: 1, pf: false, cl: false, bq: 128, tk: 32, kr: 32, ka: true, cf: true, rk: false, scg: 1, vcg: 1, emulate: false };
    const code = sgmatAttentionCode(base, 128);
    const all = ['SG_QLOAD', 'SG_SCORES', 'SG_PV', 'SG_RESCALE', 'SG_EPI'].map((k) => String(code[k])).join('\n');
    const calls = [...all.matchAll(/subgroupMatrix(?:Load<\w+>|Store)\(&(\w+)(\[[^\]]*\])?, ([^,]+),/g)];
    // Q 4 passes x 8, K 16, S 2, P 2, V 16, O 8 x 3 (rescale store / reload, epilogue store).
    expect(calls.length).toBe(32 + 16 + 2 + 2 + 16 + 24);
    for (const [call, , blk, off] of calls) {
      expect(blk, call).toBeDefined();
      expect(off, call).toMatch(/^[0-9u+ ]+$/); // a const-expression
    }
    // The block index of a K fragment is itself constant; of S, the subgroup's rows.
    expect(String(code.SG_SCORES)).toContain('subgroupMatrixLoad<Right>(&ks[(0u + 0u + 16u) / 16u], 32u, true, KP)');
    expect(String(code.SG_SCORES)).toContain('subgroupMatrixStore(&ss[(sr0 + 0u) / 16u], 0u + 16u, s0_1, false, SP)');
    // Element accesses of the softmax row go through its block lb.
    expect(String(code.SG_P_ROW)).toContain('ps[lb][lpo + 15u * LPR + part_] = f16(p);');
    expect(String(code.SG_K_STORE)).toContain('ks[(r) / FS][((r) % FS) * KP + c + 7u] = ksw.y;');
    // rk: the K / V offsets from sk0, oc0 and kb (the code before constant offsets).
    const rk = sgmatAttentionCode({ ...base, cf: false, ka: false, pf: true, rk: true }, 128);
    const kv = [...`${rk.SG_SCORES}${rk.SG_PV}`.matchAll(/subgroupMatrixLoad<Right>\(&(?:ks|vs), ([^,]+),/g)].map((m) => m[1]);
    expect(kv.length).toBe(32);
    expect(kv.every((o) => o.startsWith('(kb + ') && /sk0|oc0/.test(o))).toBe(true);
  });

  it('cf with shares: ss and vs in one column group per share, so the shares\' fragment offsets stay constant; none where they do not fit', () => {
    const dev = {
      features: { f16: true, subgroups: true, subgroupMatrix: true },
      adapter: { info: { subgroupMinSize: 32, subgroupMaxSize: 32, subgroupMatrixConfigs: [{ componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 }] } },
      limits: { maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024 },
    } as unknown as GpuDevice;
    const f16 = ['f16', 'f16', 'f16'] as const;
    const p = sgmatAttentionPlan(dev, { sgs: 8, tk: 32, sr: 2, or: 2, ka: true, cf: true }, 128, f16)!;
    expect(p).toMatchObject({ sr: 2, or: 2, scg: 2, vcg: 2 });
    expect(sgmatBytes(128, 128, 32, 32, 1, 2, 2)).toBe(48640);
    const code = sgmatAttentionCode(p, 128);
    const all = ['SG_SCORES', 'SG_PV', 'SG_RESCALE', 'SG_EPI'].map((k) => String(code[k])).join('\n');
    const calls = [...all.matchAll(/subgroupMatrix(?:Load<\w+>|Store)\(&(\w+)\[([^\]]*)\], ([^,]+),/g)];
    // K 8, S 2, P 4, V 8; O 8 x 2 (rescale) + 8 (epilogue).
    expect(calls.length).toBe(8 + 2 + 4 + 8 + 16 + 8);
    for (const [call, , , off] of calls) expect(off, call).toMatch(/^[0-9u+ ]+$/);
    expect(String(code.SG_SCORES)).toContain('subgroupMatrixStore(&ss[((sr0 + 16u) / 16u) * 2u + sk0 / 16u], 0u, s1_0, false, SP);');
    expect(String(code.SG_PV)).toContain('subgroupMatrixLoad<Right>(&vs[((0u + 16u) / 16u) * 2u + oc0 / 64u], 48u, false, VP)');
    // The softmax lanes' keys e * 2 + part_: key group e / 8.
    expect(String(code.SG_SCORE_ROW)).toContain('score(ss[lb * SCG + 1u][lso + 14u + part_], 15u * LPR + part_,');
    expect(String(code.SG_V_STORE)).toContain('vs[((r) / FS) * 2u + (c + 7u) / VW][((r) % FS) * VP + (c + 7u) % VW] = vsw.y;');
    // sr 2 and or 4 with groups would need 49664 bytes: one group each (runtime share offsets).
    expect(sgmatAttentionPlan(dev, { sgs: 8, tk: 32, sr: 2, or: 4, ka: true, cf: true }, 128, f16)).toMatchObject({ sr: 2, or: 4, scg: 1, vcg: 1 });
    expect(sgmatBytes(128, 128, 32, 32, 1, 2, 4)).toBe(49664);
    // No groups without cf, or with rk.
    expect(sgmatAttentionPlan(dev, { sgs: 8, tk: 32, sr: 2, or: 2, ka: true }, 128, f16)).toMatchObject({ scg: 1, vcg: 1 });
  });

  it('ka: K stored a tile ahead of V, one barrier between the scores and the softmax', () => {
    const plan = sgmatAttentionPlan({
      features: { f16: true, subgroups: true, subgroupMatrix: true },
      adapter: { info: { subgroupMinSize: 32, subgroupMaxSize: 32, subgroupMatrixConfigs: [{ componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 }] } },
      limits: { maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024 },
    } as unknown as GpuDevice, { sgs: 8, tk: 32, pf: true, ka: true }, 128, ['f16', 'f16', 'f16'])!;
    // ka replaces pf (the same registers, held a step); not with two buffers.
    expect(plan).toMatchObject({ ka: true, pf: false, db: false });
    const code = sgmatAttentionCode(plan, 128);
    expect(code.KA).toBe(1);
    expect(String(code.SG_K_LOAD)).toContain('kw0 = k_raw(kbase + jc * params.k_ss, (u0 % NCH) * 8u) & keep;');
    expect(String(code.SG_K_LOAD)).not.toContain('vw0');
    expect(String(code.SG_V_LOAD)).toContain('let ju = jv + u1 / NCH;');
    expect(String(code.SG_K_STORE)).not.toContain('vs[');
    expect(String(code.SG_V_STORE)).not.toContain('ks[');
  });

  it('rf 0.5: O slots of one fragment per subgroup, pairs of subgroups side by side in 16 rows of ss; pf and cl code', () => {
    const base = { fs: 16, sg: 32, sgs: 16, rf: 0.5, db: false, qs: false, sr: 1, or: 2, pf: true, cl: true, bq: 128, tk: 32, kr: 32, ka: false, cf: false, rk: false, scg: 1, vcg: 1, emulate: false };
    const code = sgmatAttentionCode(base, 128);
    expect(code.RS).toBe(8);
    // 4 O fragments, one slot each round: 4 rounds.
    expect(String(code.SG_EPI).match(/write_frag\(/g)?.length).toBe(4);
    expect(String(code.SG_EPI)).toContain('subgroupMatrixStore(&ss, (((sg * 1u + 0u) / 2u) * 16u) * SP + ((sg * 1u + 0u) % 2u) * 16u, o0_0, false, SP);');
    // 32 keys over 4 lanes per row, a contiguous run of 8 each.
    expect(String(code.SG_SCORE_ROW).match(/let s\d+ = score\(/g)?.length).toBe(8);
    expect(String(code.SG_P_ROW)).toContain('ps[lpo + part_ * KPL + 7u]');
    // 32 keys x 16 units over 512 lanes: one unit each, held in registers across steps.
    expect(code.SG_PF_DECL).toBe('let u0 = lid + 0u; var kw0 = vec4<u32>(); var vw0 = vec4<u32>();');
    expect(String(code.SG_PF_LOAD)).toContain('kw0 = k_raw(kbase + jc * params.k_ss, (u0 % NCH) * 8u) & keep;');
    expect(code.PF).toBe(1);
  });

  it('two row fragments: each K and V fragment loaded once feeds both; Q staged in passes', () => {
    const code = sgmatAttentionCode({ fs: 16, sg: 32, sgs: 4, rf: 2, db: false, qs: false, sr: 2, or: 2, pf: false, cl: false, bq: 128, tk: 32, kr: 32, ka: false, cf: false, rk: false, scg: 1, vcg: 1, emulate: false }, 128);
    const sc = String(code.SG_SCORES);
    expect(sc.match(/subgroupMatrixLoad<Right>/g)?.length).toBe(16);
    expect(sc.match(/subgroupMatrixMultiplyAccumulate/g)?.length).toBe(32);
    expect(String(code.SG_PV).match(/subgroupMatrixLoad<Right>/g)?.length).toBe(16);
    expect(String(code.SG_PV).match(/subgroupMatrixMultiplyAccumulate/g)?.length).toBe(32);
    expect(String(code.SG_QLOAD).match(/stage_q\(/g)?.length).toBe(4);
    expect(code.QP).toBe(32);
    const qs = sgmatAttentionCode({ fs: 16, sg: 32, sgs: 4, rf: 1, db: true, qs: true, sr: 1, or: 1, pf: false, cl: false, bq: 64, tk: 16, kr: 96, ka: false, cf: false, rk: false, scg: 1, vcg: 1, emulate: false }, 128);
    // Q reloaded per D step from the block kept past the two K tiles.
    expect(qs.QROW).toBe(32);
    expect(String(qs.SG_SCORES).match(/let q0_\d+ = subgroupMatrixLoad<Left>\(&ks, \(QROW \+ sr0 \+ 0u\)/g)?.length).toBe(8);
    expect(String(qs.SG_QLOAD)).toBe('stage_q(b, hk, r0, r1, lid);');
    // 32 keys over 1 lane per row: s0 .. s31.
    expect(String(code.SG_SCORE_ROW).match(/let s\d+ = score\(/g)?.length).toBe(32);
  });
});
