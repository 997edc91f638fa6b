#!/usr/bin/env python3
"""PyTorch (CUDA) baselines for `npm run bench`, measured in the same run on the same machine.

Prints one JSON line: {"available", "version", "device", "rows": [{family, key, size, name,
metric, value, unit, better}]}. Rows whose (family, key, size) match an lbrx row become that
row's PyTorch column. Never fails: without torch or CUDA it prints available: false.
"""
import argparse
import json
import statistics
import sys
import time

MIB = 1024 * 1024


def size_label(nbytes):
    return f"{nbytes // MIB} MiB" if nbytes % MIB == 0 else f"{nbytes} B"


def timed(fn, reps, warmup=1):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(out)


def events_ms(torch, fn, k, rounds=8, warm_s=0.0):
    """Median GPU time per call of fn over rounds of k calls, by CUDA events, after one call
    and warm_s seconds of calls untimed."""
    fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < warm_s:
        fn()
    torch.cuda.synchronize()
    per = []
    for _ in range(rounds):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(k):
            fn()
        end.record()
        end.synchronize()
        per.append(start.elapsed_time(end) / k)
    return statistics.median(per)


def runtime_rows(torch, large):
    rows = []
    sync = torch.cuda.synchronize

    def add(key, size, name, metric, value, unit, better="higher"):
        rows.append(dict(family="runtime", key=key, size=size, name=name, metric=metric,
                         value=value, unit=unit, better=better))

    sizes = [1, 16, 64] + ([256] if large else [])
    for mib in sizes:
        nbytes = mib * MIB
        label = size_label(nbytes)
        host = torch.arange(nbytes // 4, dtype=torch.float32) % 65536  # pageable, like a JS Float32Array
        reps = 5 if mib >= 64 else 10
        gb = lambda ms: nbytes / (ms * 1e-3) / 1e9  # noqa: E731

        def upload():
            d = host.to("cuda")
            sync()
            return d

        # Caching allocator keeps the block: the analogue of lbrx's pooled upload.
        add("upload-pooled", label, "torch: pageable tensor.to('cuda') (cached block)", "bandwidth",
            gb(timed(upload, reps)), "GB/s")

        def upload_fresh():
            torch.cuda.empty_cache()
            t0 = time.perf_counter()
            d = host.to("cuda")
            sync()
            return (time.perf_counter() - t0) * 1e3, d

        upload_fresh()
        fresh = statistics.median(upload_fresh()[0] for _ in range(reps))
        add("upload-fresh", label, "torch: pageable tensor.to('cuda') after empty_cache()", "bandwidth", gb(fresh), "GB/s")

        dev = host.to("cuda")
        sync()
        add("readback", label, "torch: tensor.cpu() (pageable)", "bandwidth", gb(timed(lambda: dev.cpu(), reps)), "GB/s")
        del dev, host
        torch.cuda.empty_cache()

    add("empty-eval", "-", "torch: torch.cuda.synchronize() on an idle stream", "latency",
        timed(sync, 50, warmup=5) * 1e3, "µs", "lower")

    k = 1000
    for key, make in (("op-add-scalar", lambda x, y: x + 1), ("op-add-tensor", lambda x, y: x + y)):
        x0 = torch.zeros(256, device="cuda")
        y = torch.ones(256, device="cuda")
        walls, records = [], []
        for r in range(6):
            sync()
            x = x0
            t0 = time.perf_counter()
            for _ in range(k):
                x = make(x, y)
            t1 = time.perf_counter()
            sync()
            t2 = time.perf_counter()
            if r > 0:
                walls.append((t2 - t0) * 1e3)
                records.append((t1 - t0) * 1e3)
        add(f"{key}-wall", "256 f32", f"torch: {k} eager adds then synchronize", "time per op",
            statistics.median(walls) / k * 1e3, "µs/op", "lower")
        add(f"{key}-record", "256 f32", f"torch: {k} eager adds, launch side only", "time per op",
            statistics.median(records) / k * 1e3, "µs/op", "lower")
    return rows


def elementwise_rows(torch, large):
    """Copy bandwidth, single kernels and the fused-chain workloads of bench/elementwise.bench.mjs.

    Sizes: 2^22 and 2^26 f32 (the lbrx family picks one; LBRX_BENCH_EW_LOG2 adds another), so the
    keys match whatever size the lbrx side ran. Bytes are counted as on the lbrx side: inputs read
    once + output written once; eager PyTorch runs one kernel per op, so its chains move more.
    """
    import os

    rows = []

    def add(key, size, name, metric, value, unit, better="higher"):
        rows.append(dict(family="elementwise", key=key, size=size, name=name, metric=metric,
                         value=value, unit=unit, better=better))

    def gpu_ms(fn, k):
        return events_ms(torch, fn, k)

    logs = {22, 26}
    if os.environ.get("LBRX_BENCH_EW_LOG2"):
        logs.add(int(os.environ["LBRX_BENCH_EW_LOG2"]))
    for log2 in sorted(logs):
        n = 1 << log2
        size = f"2^{log2} f32"
        nb = n * 4
        gb = lambda nbytes, ms: nbytes / (ms * 1e-3) / 1e9  # noqa: E731
        i = torch.arange(n, device="cuda", dtype=torch.int64)
        x = (((i * 7919) % 2048).float() / 1024 - 1).contiguous()
        a = (((i % 13) - 6).float() / 4).contiguous()
        b = (((i % 7) - 3).float() / 8).contiguous()
        del i
        y = torch.empty_like(x)
        k = 32 if log2 >= 24 else 128
        add("copy", size, "torch: y.copy_(x)", "bandwidth", gb(2 * nb, gpu_ms(lambda: y.copy_(x), k)), "GB/s")
        cases = [
            ("add-scalar", "torch: x + 1", 2 * nb, lambda: x + 1),
            ("add-tensor", "torch: x + a", 3 * nb, lambda: x + a),
            ("chain1", "torch eager: (x*2 + 1)*x - 3 (4 kernels)", 2 * nb, lambda: (x * 2 + 1) * x - 3),
            ("chain1-relu", "torch eager: relu((x*2 + 1)*x - 3) (5 kernels)", 2 * nb, lambda: torch.relu((x * 2 + 1) * x - 3)),
            ("chain3", "torch eager: (x*a + b)*x + 1 (4 kernels)", 4 * nb, lambda: (x * a + b) * x + 1),
            ("chain3-relu", "torch eager: relu((x*a + b)*x + 1) (5 kernels)", 4 * nb, lambda: torch.relu((x * a + b) * x + 1)),
            ("cast-f16", "torch: x.half()", nb + nb // 2, lambda: x.half()),
            ("sum-last", "torch: x.view(-1, 1024).sum(-1)", nb + nb // 1024, lambda: x.view(-1, 1024).sum(-1)),
        ]
        for key, name, nbytes, fn in cases:
            add(key, size, name, "bandwidth", gb(nbytes, gpu_ms(fn, k)), "GB/s")
        del x, a, b, y
        torch.cuda.empty_cache()

    # GPU vs CPU reference rows: eager PyTorch per op at the same size, wall incl. launch, k per sync.
    shape = (1024, 1024)
    x = torch.rand(shape, device="cuda") * 2 - 1
    y2 = torch.rand(shape, device="cuda")
    for key, name, fn in (
        ("vs-cpu-add", "torch: x + y", lambda: x + y2),
        ("vs-cpu-cast-f16", "torch: x.half()", lambda: x.half()),
        ("vs-cpu-sum-last", "torch: x.sum(-1)", lambda: x.sum(-1)),
    ):
        k = 32

        def batch():
            for _ in range(k):
                fn()
            torch.cuda.synchronize()

        add(key, "[1024, 1024] f32", name, "time per op", timed(batch, 10, warmup=2) / k, "ms", "lower")
    return rows


def matmul_rows(torch, large):
    """cuBLAS through torch.mm (TF32 off for f32), and the device-copy bandwidth for the M = 1 rows."""
    rows = []

    def add(key, size, name, value, unit, metric="throughput"):
        rows.append(dict(family="matmul", key=key, size=size, name=name, metric=metric,
                         value=value, unit=unit, better="higher"))

    def cuda_ms(fn, target_ms=60.0):
        fn()
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        one = max(start.elapsed_time(end), 1e-3)
        reps = int(min(200, max(3, target_ms / one)))
        samples = []
        for _ in range(3):
            start.record()
            for _ in range(reps):
                fn()
            end.record()
            torch.cuda.synchronize()
            samples.append(start.elapsed_time(end) / reps)
        return statistics.median(samples)

    dtypes = ((torch.float32, "f32"), (torch.float16, "f16"), (torch.bfloat16, "bf16"))
    squares = [256, 512, 1024, 2048, 4096] + ([8192] if large else [])
    for s in squares:
        for dt, tag in dtypes:
            a = torch.randn(s, s, device="cuda", dtype=dt)
            b = torch.randn(s, s, device="cuda", dtype=dt)
            ms = cuda_ms(lambda: torch.mm(a, b))
            add(f"mm-{tag}", f"{s}x{s}x{s}", f"torch.mm {tag} (cuBLAS)", 2 * s ** 3 / ms / 1e6, "GFLOP/s")
            del a, b
    # LLM shapes, M x K x N, weights as [N, K] (nn.Linear): x @ w.t().
    for m, k, n in ((1, 4096, 4096), (1, 4096, 11008), (512, 4096, 4096), (512, 11008, 4096)):
        for dt, tag in dtypes[:2]:
            x = torch.randn(m, k, device="cuda", dtype=dt)
            w = torch.randn(n, k, device="cuda", dtype=dt)
            ms = cuda_ms(lambda: x @ w.t())
            size = f"{m}x{k}x{n}"
            add(f"mm-{tag}-wt", size, f"x @ w.t() {tag} (cuBLAS)", 2 * m * n * k / ms / 1e6, "GFLOP/s")
            if m == 1:
                nbytes = (k * n + k + n) * x.element_size()
                add(f"mv-{tag}", size, f"x @ w.t() {tag} (cuBLAS gemv)", nbytes / (ms * 1e-3) / 1e9, "GB/s", "bandwidth")
            del x, w
    src = torch.empty(1 << 28, device="cuda", dtype=torch.float32)
    dst = torch.empty_like(src)
    ms = cuda_ms(lambda: dst.copy_(src))
    add("hbm-copy", "1 GiB", "device copy (read + write)", 2 * src.numel() * 4 / (ms * 1e-3) / 1e9, "GB/s", "bandwidth")
    del src, dst
    torch.cuda.empty_cache()
    return rows


def attention_rows(torch, large):
    """SDPA (CUDA, f16): causal prefill TFLOP/s, decode (L = 1) GB/s over K and V, and the device copy of the same bytes."""
    import torch.nn.functional as F
    rows = []

    def add(key, size, name, value, unit, metric):
        rows.append(dict(family="attention", key=key, size=size, name=name, metric=metric,
                         value=value, unit=unit, better="higher"))

    def cuda_ms(fn, reps):
        fn()
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 1.0:  # clocks ramp up
            fn()
        torch.cuda.synchronize()
        samples = []
        for _ in range(5):
            start.record()
            for _ in range(reps):
                fn()
            end.record()
            end.synchronize()
            samples.append(start.elapsed_time(end) / reps)
        return statistics.median(samples)

    B, H, D, L = 1, 32, 128, 4096
    q, k, v = (torch.randn(B, H, L, D, device="cuda", dtype=torch.float16) for _ in range(3))
    ms = cuda_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), 8)
    flops = 2 * 2 * B * H * L * L * D / 2
    add("causal", f"B={B} H={H} L={L} S={L} D={D} f16", "torch SDPA f16, is_causal", flops / (ms * 1e-3) / 1e12, "TFLOP/s", "throughput")
    del q, k, v
    S = 8192
    q = torch.randn(B, H, 1, D, device="cuda", dtype=torch.float16)
    k, v = (torch.randn(B, H, S, D, device="cuda", dtype=torch.float16) for _ in range(2))
    nbytes = 2 * B * H * S * D * 2
    # L = 1 with is_causal would mask all but key 0 (top-left alignment in torch): no mask, every key visible.
    ms = cuda_ms(lambda: F.scaled_dot_product_attention(q, k, v), 32)
    add("decode", f"B={B} H={H} L=1 S={S} D={D} f16", "torch SDPA f16 decode (K and V read once)", nbytes / (ms * 1e-3) / 1e9, "GB/s", "bandwidth")
    src = torch.empty(nbytes, device="cuda", dtype=torch.uint8)
    dst = torch.empty_like(src)
    ms = cuda_ms(lambda: dst.copy_(src), 32)
    add("hbm-copy", f"{nbytes // MIB} MiB", "torch: dst.copy_(src) (read + write)", 2 * nbytes / (ms * 1e-3) / 1e9, "GB/s", "bandwidth")
    del q, k, v, src, dst
    # GQA 4:1 decode and one long query (B = H = 1, S = 32768); K and V bytes read once.
    for key, hq, hkv, s in (("decode-gqa", H, H // 4, S), ("decode-32k", 1, 1, 32768)):
        q = torch.randn(B, hq, 1, D, device="cuda", dtype=torch.float16)
        k, v = (torch.randn(B, hkv, s, D, device="cuda", dtype=torch.float16) for _ in range(2))
        nbytes = 2 * B * hkv * s * D * 2
        try:
            ms = cuda_ms(lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=hq != hkv), 32)
            heads = f"H={hq}" if hq == hkv else f"Hq={hq} Hkv={hkv}"
            add(key, f"B={B} {heads} L=1 S={s} D={D} f16", f"torch SDPA f16 decode{', enable_gqa' if hq != hkv else ''}",
                nbytes / (ms * 1e-3) / 1e9, "GB/s", "bandwidth")
        except TypeError:  # torch < 2.5 has no enable_gqa
            pass
        del q, k, v
    torch.cuda.empty_cache()
    return rows


def ops_rows(torch, large):
    """bench/ops.bench.mjs: softmax, norms, rope, row reductions, gather, concat over [8192, 4096]."""
    import torch.nn.functional as F

    rows = []
    R, D, HEAD = 8192, 4096, 128

    def gpu_ms(fn):
        return events_ms(torch, fn, 16, warm_s=1.0)  # warm-up, as the lbrx side does

    for name, dt, es in (("f32", torch.float32, 4), ("f16", torch.float16, 2)):
        size = f"[{R}, {D}] {name}"
        B = R * D * es
        x = torch.randn(R, D, device="cuda", dtype=dt)
        w = torch.randn(D, device="cuda", dtype=dt)
        b = torch.randn(D, device="cuda", dtype=dt)
        y = torch.empty_like(x)
        heads = D // HEAD
        xh = x.view(R, heads, HEAD).transpose(0, 1).contiguous()
        inv = 1.0 / (10000 ** (torch.arange(0, HEAD, 2, device="cuda", dtype=torch.float32) / HEAD))
        ang = torch.arange(R, device="cuda", dtype=torch.float32)[:, None] * inv[None, :]
        cos, sin = ang.cos().to(dt), ang.sin().to(dt)

        def rope():
            x1, x2 = xh[..., : HEAD // 2], xh[..., HEAD // 2:]
            return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)

        ids = (torch.arange(R // 2, device="cuda", dtype=torch.int64) * 7919) % R
        cases = [
            ("copy", "torch: y.copy_(x)", 2 * B, lambda: y.copy_(x)),
            ("softmax", "torch.softmax(x, -1)", 2 * B, lambda: torch.softmax(x, -1)),
            ("layernorm", "F.layer_norm(x, (D,), w, b)", 2 * B + 2 * D * es, lambda: F.layer_norm(x, (D,), w, b)),
            ("rmsnorm", "F.rms_norm(x, (D,), w)", 2 * B + D * es, lambda: F.rms_norm(x, (D,), w)),
            ("rope", "rope: cat(x1*cos - x2*sin, x2*cos + x1*sin)", 2 * B, rope),
            ("sum", "x.sum(-1)", B + R * es, lambda: x.sum(-1)),
            ("max", "x.amax(-1)", B + R * es, lambda: x.amax(-1)),
            ("gather", "x.index_select(0, ids)", 2 * (R // 2) * D * es, lambda: x.index_select(0, ids)),
            ("concat", "torch.cat((x[:R/2], x[R/2:]))", 2 * B, lambda: torch.cat((x[: R // 2], x[R // 2:]))),
        ]
        for key, label, nbytes, fn in cases:
            ms = gpu_ms(fn)
            rows.append(dict(family="ops", key=key, size=size, name=f"torch: {label}", metric="bandwidth",
                             value=nbytes / (ms * 1e-3) / 1e9, unit="GB/s", better="higher"))
        del x, y, xh
        torch.cuda.empty_cache()
    return rows


FAMILIES = {"runtime": runtime_rows, "elementwise": elementwise_rows, "matmul": matmul_rows, "attention": attention_rows, "ops": ops_rows}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--families", default="runtime")
    ap.add_argument("--large", action="store_true")
    args = ap.parse_args()
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"available": False, "why": f"no torch ({e})", "rows": []}))
        return
    if not torch.cuda.is_available():
        print(json.dumps({"available": False, "why": "torch has no CUDA device", "rows": []}))
        return
    torch.backends.cuda.matmul.allow_tf32 = False
    rows = []
    for fam in args.families.split(","):
        fn = FAMILIES.get(fam)
        if fn is None:
            continue
        try:
            rows.extend(fn(torch, args.large))
        except Exception as e:  # noqa: BLE001
            print(f"torch baseline {fam} failed: {e}", file=sys.stderr)
    print(json.dumps({"available": True, "version": torch.__version__,
                      "device": torch.cuda.get_device_name(0), "rows": rows}))


if __name__ == "__main__":
    main()
