# PyTorch M = 1 reference for the matvec probe: x @ w.t() (w [N, K]) and x @ w (w [K, N]) at
# 1x4096x4096 and 1x4096x11008, f32 (TF32 off) and f16, cycling through > 160 MB of weight copies
# (as bench/matmul.bench.mjs does), CUDA events over 200 calls, median of 5 rounds after 0.5 s of
# warm-up; and dst.copy_(src) over 1 GiB. Usage: python3 torch_mv.py TAG
import sys, time, torch
torch.backends.cuda.matmul.allow_tf32 = False
tag = sys.argv[1] if len(sys.argv) > 1 else ''

def events_ms(fn, k=200, rounds=5, warm=0.5):
    t0 = time.time()
    while time.time() - t0 < warm: fn()
    torch.cuda.synchronize()
    per = []
    for _ in range(rounds):
        s = torch.cuda.Event(enable_timing=True); e = torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(k): fn()
        e.record(); e.synchronize(); per.append(s.elapsed_time(e) / k)
    return sorted(per)[rounds // 2]

nb = 1 << 30
src = torch.empty(nb // 4, device='cuda'); dst = torch.empty_like(src)
ms = events_ms(lambda: dst.copy_(src), k=8, rounds=5)
print(f"TORCH {tag} copy 1 GiB: {2 * nb / ms / 1e6:.0f} GB/s", flush=True)
del src, dst
for dt, name, el in [(torch.float32, 'f32', 4), (torch.float16, 'f16', 2)]:
    for (k, n) in [(4096, 4096), (4096, 11008)]:
        copies = max(1, -(-160_000_000 // (k * n * el)))
        x = torch.randn(1, k, device='cuda', dtype=dt)
        for layout in ['nk', 'kn']:
            ws = [torch.randn(n, k, device='cuda', dtype=dt) if layout == 'nk' else torch.randn(k, n, device='cuda', dtype=dt) for _ in range(copies)]
            turn = [0]
            def call():
                w = ws[turn[0] % copies]; turn[0] += 1
                return x @ w.t() if layout == 'nk' else x @ w
            ms = events_ms(call)
            gb = (k * n + k + n) * el / ms / 1e6
            print(f"TORCH {tag} {name} {layout} 1x{k}x{n}: {ms * 1e3:.1f} us = {gb:.0f} GB/s ({copies} copies)", flush=True)
            del ws
