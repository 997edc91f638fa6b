# cuBLAS f32 reference for the tiled-kernel probe: torch.mm, TF32 off, CUDA events, median of 7
# rounds of 20 after a 1 s warm-up. Usage: python3 cublas32.py TAG [MxKxN ...] (default 4096^3).
import sys, time, torch
torch.backends.cuda.matmul.allow_tf32 = False
tag = sys.argv[1] if len(sys.argv) > 1 else ''
shapes = [tuple(map(int, s.split('x'))) for s in sys.argv[2:]] or [(4096, 4096, 4096)]
for (m, k, n) in shapes:
    a = torch.randn(m, k, device='cuda'); b = torch.randn(k, n, device='cuda')
    t0 = time.time()
    while time.time() - t0 < 1.0: torch.mm(a, b)
    torch.cuda.synchronize()
    per = []
    for _ in range(7):
        s = torch.cuda.Event(enable_timing=True); e = torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(20): torch.mm(a, b)
        e.record(); e.synchronize(); per.append(s.elapsed_time(e) / 20)
    ms = sorted(per)[3]
    tf = lambda t: 2 * m * k * n / t / 1e9
    print(f"CUBLAS {tag} f32 {m}x{k}x{n}: {ms:.3f} ms = {tf(ms):.1f} TFLOP/s (best {tf(min(per)):.1f}, worst {tf(max(per)):.1f})", flush=True)
