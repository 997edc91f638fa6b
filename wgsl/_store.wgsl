// The entry point of one-output-element-per-index kernels: out[o] = STORE(ELEMENT(o)), o < n.
// OUT_HALF: 16-bit output, thread t computes elements 2t and 2t + 1 and writes word t whole,
// so no two threads share a word. Needs: params.n, params.grid_x (threads per y row), `out`,
// the kernel's element function named by ELEMENT, STORE (expr of r).

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * params.grid_x;
#if OUT_HALF
  let o = t * 2u;
  if (o >= params.n) { return; }
  var r = $ELEMENT(o);
  let lo = $STORE;
  var hi = 0u;
  if (o + 1u < params.n) {
    r = $ELEMENT(o + 1u);
    hi = $STORE;
  }
  out[t] = lo | (hi << 16u);
#else
  if (t >= params.n) { return; }
  let r = $ELEMENT(t);
  out[t] = $STORE;
#endif
}
