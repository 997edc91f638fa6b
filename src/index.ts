// lbrx: the one export list. Importing has no side effects; call `await lb.init()` first.
export { init, shutdown, currentDevice as device } from './runtime/context.js';
export type { InitOptions, DeviceFeatures } from './runtime/device.js';
export type { GpuFingerprint, GpuFamily, SizeClass } from './runtime/family.js';
export { fingerprint } from './runtime/family.js';
export { memory, pipelineStats, streamStats, type MemoryStats } from './runtime/stats.js';
export { eval_ as eval } from './runtime/sync.js';
export { Tensor, type NestedArray, type SliceArg } from './tensor/tensor.js';
export { DTYPES, type DType } from './tensor/dtype.js';
export { tidy, keep } from './tensor/scope.js';
export { tensor, full, zeros, ones, add, mul, cast, contiguous, sum, type CreateOptions } from './ops/index.js';
export {
  LbrxError, ShapeError, DTypeError, ShaderCompileError, GpuOutOfMemoryError, DeviceLostError,
  FormatError, NoAdapterError, GpuValidationError,
} from './errors.js';
