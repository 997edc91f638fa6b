# cuBLAS reference for the matmul probes: torch.mm at 4096^3, f16 and f32 (TF32 off), CUDA events.
import torch, time
torch.backends.cuda.matmul.allow_tf32 = False
def bench(dtype, n=4096, k=20):
    a = torch.randn(n, n, device='cuda', dtype=dtype); b = torch.randn(n, n, device='cuda', dtype=dtype)
    t0 = time.time()
    while time.time() - t0 < 1.0: torch.mm(a, b)
    torch.cuda.synchronize()
    per = []
    for _ in range(7):
        s = torch.cuda.Event(enable_timing=True); e = torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(k): torch.mm(a, b)
        e.record(); e.synchronize(); per.append(s.elapsed_time(e) / k)
    ms = sorted(per)[3]
    print(f"CUBLAS {dtype} {n}^3: {ms:.3f} ms = {2 * n**3 / ms / 1e9:.1f} TFLOP/s (min {2 * n**3 / min(per) / 1e9:.1f})", flush=True)
print("torch", torch.__version__, torch.cuda.get_device_name())
bench(torch.float16); bench(torch.float32); bench(torch.float16)
