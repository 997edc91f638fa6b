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


FAMILIES = {"runtime": runtime_rows}


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
