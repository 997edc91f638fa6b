// lbrx: the one export list. Importing has no side effects; call `await lb.init()` first.
export { init, shutdown, currentDevice as device } from './runtime/context.js';
export type { InitOptions, DeviceFeatures } from './runtime/device.js';
export type { GpuFingerprint, GpuFamily, SizeClass } from './runtime/family.js';
export { fingerprint } from './runtime/family.js';
export { memory, pipelineStats, streamStats, type MemoryStats } from './runtime/stats.js';
export { resetMemoryStats } from './runtime/stats.js';
export { eval_ as eval } from './runtime/sync.js';
export { profile, profiler, type ProfileReport, type ProfileOptions, type KernelRecord, type KernelSummary, type TimingMode } from './runtime/profiler.js';
export { peaks, type DevicePeaks, type PeaksOptions, type PeakSource } from './runtime/peaks.js';
export { Tensor, type NestedArray, type SliceArg } from './tensor/tensor.js';
export { DTYPES, type DType } from './tensor/dtype.js';
export { tidy, keep } from './tensor/scope.js';
export { tensor, full, zeros, ones, add, mul, cast, contiguous, sum, type CreateOptions } from './ops/index.js';
export { mean, max, min, argmax, argmin, variance as var, softmax, logSoftmax, type VarOptions } from './ops/index.js';
export {
  neg, abs, exp, log, sqrt, rsqrt, sin, cos, tanh, sigmoid, relu, silu, gelu, clamp, pow, sub, div, maximum, minimum,
  eq, ne, lt, le, gt, ge, where, type GeluOptions,
} from './ops/index.js';
export {
  arange, layerNorm, rmsNorm, rope, ropeInvFreq, gather, indexSelect, concat, rand, randn,
  type RopeOptions, type RandomOptions,
} from './ops/index.js';
export { matmul, type MatmulOptions, type Activation } from './ops/index.js';
export { attention, type AttentionOptions } from './ops/index.js';
export { assign } from './ops/index.js';
export {
  loadSafetensors, saveSafetensors,
  type Safetensors, type SafetensorsSource, type SafetensorsLoadOptions, type SafetensorsSaveOptions,
} from './formats/safetensors.js';
export {
  loadGguf, GGUF_TYPE, type Gguf, type GgufSource, type GgufLoadOptions, type GgufValue, type GgufTensorInfo,
} from './formats/gguf.js';
export { QuantizedTensor, dequantize, type QuantType } from './formats/quant.js';
export { tune, type TuneOptions, type TuneResult, type TuneShape, type TuneReport } from './tune/tuner.js';
export type { TuneProgress } from './tune/tuner.js';
export {
  LbrxError, ShapeError, DTypeError, ShaderCompileError, GpuOutOfMemoryError, DeviceLostError,
  FormatError, NoAdapterError, GpuValidationError,
} from './errors.js';
