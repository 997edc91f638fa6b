// Elementwise family: out[o] = value(o) for o < n, where value() is a fused expression over
// strided leaves (wgsl/_value.wgsl): every elementwise op, cast, copy/contiguous, broadcast.
// Bindings: params (uniform), leaf0.., out (last). Dispatch: ceil(n / PER_THREAD / 256)
// workgroups folded into x/y (grid_x = threads per y row). OUT_HALF: 16-bit output, each
// thread packs elements 2t and 2t+1 into word t. STORE: expr of r giving the stored word/value.
$ENABLE
#include "_half"
#include "_math"
#include "_value"
#include "_store"

@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<$OUT_STORE>;
