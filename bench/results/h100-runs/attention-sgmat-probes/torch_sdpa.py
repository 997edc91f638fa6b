# PyTorch SDPA baseline for the sgmat probe: causal prefill B=1 H=32 L=S=4096 D=128 f16 (CUDA events).
import statistics, time
import torch
import torch.nn.functional as F
B, H, L, D = 1, 32, 4096, 128
q, k, v = (torch.randn(B, H, L, D, device="cuda", dtype=torch.float16) for _ in range(3))
fn = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)
fn(); torch.cuda.synchronize()
t0 = time.perf_counter()
while time.perf_counter() - t0 < 1.0:
    fn()
torch.cuda.synchronize()
s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
samples = []
for _ in range(5):
    s.record()
    for _ in range(8):
        fn()
    e.record(); e.synchronize()
    samples.append(s.elapsed_time(e) / 8)
ms = statistics.median(samples)
flops = 2 * 2 * B * H * L * L * D / 2
print(f"torch SDPA causal f16 ({torch.__version__}, {torch.cuda.get_device_name()}): {ms:.3f} ms = {flops / ms / 1e9:.1f} TFLOP/s")
