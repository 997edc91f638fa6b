// Peak memory bandwidth and FLOP rates per known GPU, from vendor specifications: the "100%" that
// profiles and benchmarks measure against when this device has not been calibrated. Each entry
// says where its numbers come from. f16 is the best f16 rate a WebGPU kernel can reach: NVIDIA's
// dense tensor-core rate (subgroup matrices map to cooperative matrices), Apple's FMA rate (f16
// runs at the f32 rate on M1-M4). A size class covers several core counts: the entry is the
// largest configuration (the one the vendor quotes), so a smaller chip reads a little low.
import type { GpuFingerprint } from './family.js';

export interface PeakSpec {
  /** The GPU the numbers are for, e.g. 'Apple M1 Max (32-core GPU)'. */
  name: string;
  /** Memory bandwidth, GB/s (1e9 bytes per second). */
  bandwidthGBs: number;
  /** Peak f32 and f16 rates, GFLOP/s (an FMA counts 2). */
  f32Gflops: number;
  f16Gflops: number;
  /** Where the numbers come from. */
  source: string;
}

type AppleClass = 'base' | 'pro' | 'max' | 'ultra';

// Apple GPU cores have 128 f32 lanes: GFLOP/s = cores x 128 x 2 x GHz.
const appleFlops = (cores: number, ghz: number) => Math.round(cores * 128 * 2 * ghz);
const APPLE_M1_M2 = "Apple's newsroom (M1 2.6, M1 Pro 5.2, M1 Max 10.4, M1 Ultra 21, M2 3.6, M2 Pro 6.8, M2 Max 13.6, M2 Ultra 27.2 TFLOPS; bandwidth as announced), clocks from github.com/philipturner/metal-benchmarks";
const APPLE_M3_M4 = 'bandwidth from Apple\'s newsroom; FLOP/s estimated as cores x 128 lanes x 2 x clock (Apple publishes no FLOP figure for M3/M4; clock 1.398 GHz for M3, 1.678 GHz for M4 from third-party listings): calibrate with lb.peaks({ source: \'calibrate\' }) for measured numbers';

const APPLE: Record<string, Partial<Record<AppleClass, [cores: number, ghz: number, gbs: number]>>> = {
  'apple-m1': { base: [8, 1.278, 68.25], pro: [16, 1.296, 200], max: [32, 1.296, 400], ultra: [64, 1.296, 800] },
  'apple-m2': { base: [10, 1.398, 100], pro: [19, 1.398, 200], max: [38, 1.398, 400], ultra: [76, 1.398, 800] },
  'apple-m3': { base: [10, 1.398, 100], pro: [18, 1.398, 150], max: [40, 1.398, 400], ultra: [80, 1.398, 819] },
  'apple-m4': { base: [10, 1.678, 120], pro: [20, 1.678, 273], max: [40, 1.678, 546] },
};

interface NvidiaEntry { match: RegExp; spec: PeakSpec }

// Dense (no sparsity) tensor-core f16 with f32 accumulation, from NVIDIA's datasheets.
const NVIDIA: NvidiaEntry[] = [
  {
    match: /h100.*(pcie)/,
    spec: { name: 'NVIDIA H100 PCIe', bandwidthGBs: 2000, f32Gflops: 51_200, f16Gflops: 756_000, source: 'NVIDIA H100 datasheet (PCIe: FP32 51 TFLOPS, FP16 tensor 1513 TFLOPS with sparsity = 756 dense, 2.0 TB/s)' },
  },
  {
    match: /h100.*nvl/,
    spec: { name: 'NVIDIA H100 NVL', bandwidthGBs: 3900, f32Gflops: 60_000, f16Gflops: 835_000, source: 'NVIDIA H100 datasheet (NVL: FP32 60 TFLOPS, FP16 tensor 1671 TFLOPS with sparsity = 835 dense, 3.9 TB/s)' },
  },
  {
    match: /h100/,
    spec: { name: 'NVIDIA H100 SXM5 80GB', bandwidthGBs: 3350, f32Gflops: 66_900, f16Gflops: 989_400, source: 'NVIDIA H100 datasheet and Hopper whitepaper (SXM5: FP32 66.9 TFLOPS, FP16 tensor 989.4 TFLOPS dense, HBM3 3.35 TB/s)' },
  },
  {
    match: /h200/,
    spec: { name: 'NVIDIA H200', bandwidthGBs: 4800, f32Gflops: 66_900, f16Gflops: 989_400, source: 'NVIDIA H200 datasheet (SXM: FP32 67 TFLOPS, FP16 tensor 1979 TFLOPS with sparsity = 989 dense, HBM3e 4.8 TB/s)' },
  },
  {
    match: /a100.*80\s*gb/,
    spec: { name: 'NVIDIA A100 80GB', bandwidthGBs: 2039, f32Gflops: 19_500, f16Gflops: 312_000, source: 'NVIDIA A100 datasheet (FP32 19.5 TFLOPS, FP16 tensor 312 TFLOPS dense, 80GB SXM 2039 GB/s; PCIe 1935 GB/s)' },
  },
  {
    match: /a100/,
    spec: { name: 'NVIDIA A100 40GB', bandwidthGBs: 1555, f32Gflops: 19_500, f16Gflops: 312_000, source: 'NVIDIA A100 datasheet (FP32 19.5 TFLOPS, FP16 tensor 312 TFLOPS dense, 40GB 1555 GB/s)' },
  },
];

/** The vendor peaks for this GPU, or null when the table does not know it (then calibrate). */
export function tablePeaks(fp: Pick<GpuFingerprint, 'family' | 'sizeClass' | 'device' | 'description'>): PeakSpec | null {
  const apple = APPLE[fp.family]?.[(fp.sizeClass ?? 'base') as AppleClass];
  if (apple) {
    const [cores, ghz, gbs] = apple;
    const gen = fp.family.slice('apple-'.length).toUpperCase();
    const cls = fp.sizeClass && fp.sizeClass !== 'base' ? ` ${fp.sizeClass[0].toUpperCase()}${fp.sizeClass.slice(1)}` : '';
    const flops = appleFlops(cores, ghz);
    const source = fp.family === 'apple-m1' || fp.family === 'apple-m2' ? APPLE_M1_M2 : APPLE_M3_M4;
    return { name: `Apple ${gen}${cls} (${cores}-core GPU)`, bandwidthGBs: gbs, f32Gflops: flops, f16Gflops: flops, source };
  }
  if (fp.family === 'nvidia') {
    const text = `${fp.device} ${fp.description}`.toLowerCase().replace(/[-_]/g, ' ');
    return NVIDIA.find((e) => e.match.test(text))?.spec ?? null;
  }
  return null;
}
