// Every op: what the Tensor methods and the public API call.
export { add, mul, cast, contiguous } from './elementwise.js';
export {
  neg, abs, exp, log, sqrt, rsqrt, sin, cos, tanh, sigmoid, relu, silu, gelu, clamp, pow, sub, div, maximum, minimum,
  eq, ne, lt, le, gt, ge, where, type GeluOptions,
} from './elementwise.js';
export { sum } from './reduce.js';
export { mean, max, min, argmax, argmin, variance, type Axis, type VarOptions } from './reduce.js';
export { softmax, logSoftmax } from './softmax.js';
export { tensor, full, zeros, ones, toDevice, type CreateOptions } from './create.js';
export { arange } from './create.js';
export { layerNorm, rmsNorm } from './norm.js';
export { rope, ropeInvFreq, type RopeOptions } from './rope.js';
export { gather, indexSelect } from './gather.js';
export { concat } from './concat.js';
export { rand, randn, type RandomOptions } from './random.js';
export { matmul, type MatmulOptions, type Activation } from './matmul.js';
export { attention, type AttentionOptions } from './attention.js';
export { assign } from './assign.js';
