#!/usr/bin/env python3
"""optkern.torch.AdamW against torch.optim.AdamW on a transformer-shaped
parameter list: 12 blocks of width 256 (attention in/out projections, a
4x MLP, two LayerNorms) plus an 8192 x 256 embedding and a final LayerNorm,
about 11.6 M float32 parameters in 147 tensors, the same thread count for
both.  torch.optim runs with its default arguments (on CPU in 1.13, the
single-tensor path) and with foreach=True.  Also the per-step Python
overhead of optkern.torch for 150 tensors: a step over 150 one-element
tensors, where the kernels take next to no time.

Writes a Markdown section to stdout (bench/run appends it to
bench/out/report.md); progress on stderr.

usage: torch_group_bench.py [--quick] [--threads N]"""
import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "python"))
import optkern  # noqa: E402
import optkern.torch as ot  # noqa: E402

TARGET_SPEEDUP = 2.5
TARGET_OVERHEAD_US = 150.0


def transformer_shapes(blocks=12, width=256, vocab=8192):
    shapes = [(vocab, width)]
    for _ in range(blocks):
        shapes += [(3 * width, width), (3 * width,), (width, width), (width,), (width,), (width,),
                   (4 * width, width), (4 * width,), (width, 4 * width), (width,), (width,), (width,)]
    return shapes + [(width,), (width,)]


def make_params(shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    params = [torch.nn.Parameter(torch.randn(s, generator=g) * 0.02) for s in shapes]
    for p in params:
        p.grad = torch.randn(p.shape, generator=g) * 1e-3
    return params


def time_steps(opt, warm, reps):
    for _ in range(warm):
        opt.step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        opt.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warm, reps, oreps = (2, 5, 300) if args.quick else (3, 15, 2000)
    shapes = transformer_shapes()
    nparams = sum(torch.Size(s).numel() for s in shapes)
    rows = []
    runs = [("optkern.torch.AdamW", lambda p: ot.AdamW(p, lr=1e-3)),
            ("torch.optim.AdamW (default: single-tensor)", lambda p: torch.optim.AdamW(p, lr=1e-3)),
            ("torch.optim.AdamW (foreach=True)", lambda p: torch.optim.AdamW(p, lr=1e-3, foreach=True))]
    for name, make in runs:
        print("torch_group_bench: %s" % name, file=sys.stderr)
        rows.append((name, time_steps(make(make_params(shapes)), warm, reps)))
    ours = rows[0][1]
    # The per-step overhead: 150 one-element tensors.
    tiny = make_params([(1,)] * 150)
    overhead = time_steps(ot.AdamW(tiny, lr=1e-3), 20, oreps)
    tiny_torch = time_steps(torch.optim.AdamW(make_params([(1,)] * 150), lr=1e-3), 5, max(50, oreps // 10))

    speedup = rows[1][1] / ours
    out = ["## PyTorch front end: optkern.torch.AdamW", "",
           "AdamW (lr 1e-3, weight decay 0.01), float32, %d parameters in %d tensors (12 blocks of width 256 "
           "and an 8192 x 256 embedding), %d threads for torch and optkern (torch.set_num_threads; optkern "
           "follows it), median of %d steps; optkern %s on %s, group step: %s." % (
               nparams, len(shapes), args.threads, reps, optkern.__version__, optkern.active_isa(),
               "yes" if optkern._lib.optk_step_group else "no (one optk_step per tensor)"), "",
           "| optimizer | ms per step | GB/s (28 B/param) | optkern's speedup |", "|---|---:|---:|---:|"]
    for name, t in rows:
        out.append("| %s | %.2f | %.1f | %.2fx |" % (name, t * 1e3, 28 * nparams / t / 1e9, t / ours))
    out += ["", "- target: optkern.torch.AdamW at least %.1fx torch.optim.AdamW's default path: %.2fx, %s" % (
                TARGET_SPEEDUP, speedup, "met" if speedup >= TARGET_SPEEDUP else "NOT met"),
            "- per-step Python overhead, 150 one-element tensors: %.1f us (torch.optim.AdamW default: %.1f us); "
            "target below %.0f us: %s" % (overhead * 1e6, tiny_torch * 1e6, TARGET_OVERHEAD_US,
                                         "met" if overhead * 1e6 < TARGET_OVERHEAD_US else "NOT met"), ""]
    print("\n".join(out))


if __name__ == "__main__":
    main()
