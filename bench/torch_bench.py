#!/usr/bin/env python3
"""PyTorch's torch.optim on CPU, timed like optk_bench: per-step time of one
f32 tensor of n elements, median of repeated samples after warm-up.  Writes
CSV rows (section "torch") in optk_bench's format to stdout; progress on
stderr.  Optional: bench/run runs it only where `import torch` works.

Semantics differ from optkern's Keras ones (eps inside/outside the square
root, lr inside the momentum buffer, Adagrad's eps placement); the work per
element is the same, and the closest torch optimizer is timed for each.

usage: torch_bench.py [--quick] [--filter TOKENS] [--threads N]"""
import statistics
import sys
import time

import torch

SPECS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.01),
    "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
    "sgd_nesterov": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True),
    "adagrad": lambda p: torch.optim.Adagrad(p, lr=0.001, eps=1e-7, initial_accumulator_value=0.1),
    "rmsprop": lambda p: torch.optim.RMSprop(p, lr=0.001, alpha=0.9, eps=1e-7),
    "rmsprop_momentum": lambda p: torch.optim.RMSprop(p, lr=0.001, alpha=0.9, eps=1e-7, momentum=0.9),
    "rmsprop_centered": lambda p: torch.optim.RMSprop(p, lr=0.001, alpha=0.9, eps=1e-7, centered=True),
    "rmsprop_centered_momentum": lambda p: torch.optim.RMSprop(p, lr=0.001, alpha=0.9, eps=1e-7,
                                                               momentum=0.9, centered=True),
    "adam": lambda p: torch.optim.Adam(p, lr=0.001, betas=(0.9, 0.999), eps=1e-7),
    "adam_amsgrad": lambda p: torch.optim.Adam(p, lr=0.001, betas=(0.9, 0.999), eps=1e-7, amsgrad=True),
    "adamax": lambda p: torch.optim.Adamax(p, lr=0.001, betas=(0.9, 0.999), eps=1e-7),
}
NSTATE = {"sgd": 0, "sgd_momentum": 1, "sgd_nesterov": 1, "adagrad": 1, "rmsprop": 1, "rmsprop_momentum": 2,
          "rmsprop_centered": 2, "rmsprop_centered_momentum": 3, "adam": 2, "adam_amsgrad": 3, "adamax": 2}


def measure(fn, quick):
    target, warm, nsamples = (2e-3, 0.05, 5) if quick else (5e-3, 0.2, 11)
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    reps = 1 if one >= target else int(target / max(one, 1e-9)) + 1
    start = time.perf_counter()
    while time.perf_counter() - start < warm:
        for _ in range(reps):
            fn()
    samples = []
    for _ in range(nsamples):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        samples.append((time.perf_counter() - t0) / reps)
    samples.sort()
    return statistics.median(samples), samples[0], samples[-1]


def main():
    args = sys.argv[1:]
    quick = "--quick" in args
    tokens = []
    threads = [1]
    if "--filter" in args:
        tokens = args[args.index("--filter") + 1].split(",")
    if "--threads" in args:
        threads = [1, int(args[args.index("--threads") + 1])]
    names = [n for n in SPECS if not any(t in SPECS for t in tokens) or n in tokens]
    if any(t in ("f64", "bf16", "f16") for t in tokens) and "f32" not in tokens:
        names = []
    sizes = [4096, 65536, 1 << 20, 16 << 20] if quick else [1024 * 4 ** i for i in range(9)]
    for nth in sorted(set(threads)):
        torch.set_num_threads(nth)
        for name in names:
            for n in sizes:
                if quick and nth > 1 and n < (1 << 20):
                    continue
                p = torch.nn.Parameter(torch.randn(n, dtype=torch.float32))
                p.grad = torch.randn(n, dtype=torch.float32)
                opt = SPECS[name]([p])
                with torch.no_grad():
                    med, lo, hi = measure(opt.step, quick)
                bytes_per_elem = 12 + 8 * NSTATE[name]
                print(f"torch,{name},f32,torch-{torch.__version__},default,{nth},{n},{bytes_per_elem},"
                      f"{med / n * 1e9:.6g},{lo / n * 1e9:.6g},{hi / n * 1e9:.6g}", flush=True)
                print(f"torch {name} n={n} threads={nth}: {med * 1e6:.1f} us/step", file=sys.stderr)


if __name__ == "__main__":
    main()
