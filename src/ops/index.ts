// Every op: what the Tensor methods and the public API call.
export { add, mul, cast, contiguous } from './elementwise.js';
export { sum } from './reduce.js';
export { tensor, full, zeros, ones, toDevice, type CreateOptions } from './create.js';
