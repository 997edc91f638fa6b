# cuBLAS f32 reference (torch, TF32 off, CUDA events, median of 7 rounds of 20 after a 1 s warm-up).
# Usage: python3 cublas32.py TAG MxKxN[T] ... (T: B given as [N, K] weights, x @ w.t(): the LLM layout).
import sys, time, torch
torch.backends.cuda.matmul.allow_tf32 = False
tag = sys.argv[1]
for spec in sys.argv[2:]:
    tb = spec.endswith('T')
    m, k, n = map(int, spec.rstrip('T').split('x'))
    a = torch.randn(m, k, device='cuda')
    w = torch.randn(n, k, device='cuda') if tb else torch.randn(k, n, device='cuda')
    f = (lambda: torch.mm(a, w.t())) if tb else (lambda: torch.mm(a, w))
    t0 = time.time()
    while time.time() - t0 < 1.0: f()
    torch.cuda.synchronize()
    per = []
    for _ in range(7):
        s = torch.cuda.Event(enable_timing=True); e = torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(20): f()
        e.record(); e.synchronize(); per.append(s.elapsed_time(e) / 20)
    ms = sorted(per)[3]
    tf = lambda t: 2 * m * k * n / t / 1e9
    print(f"CUBLAS {tag} f32 {spec}: {ms:.3f} ms = {tf(ms):.1f} TFLOP/s (best {tf(min(per)):.1f}, worst {tf(max(per)):.1f})", flush=True)
