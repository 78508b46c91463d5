#!/usr/bin/env python3
"""PyTorch's whole training step on the model of bench/group.c: unscale the
gradients by the loss scale, check them for Inf/NaN, clip_grad_norm_, then
torch.optim.AdamW.step(), all on CPU in f32.  Rows (section "group",
variants "torch" with AdamW's default arguments, the single-tensor path on
CPU in 1.13, and "torch_foreach" with foreach=True, where the unscale and the
check use the _foreach ops too; clip_grad_norm_ has no foreach argument in
1.13 and runs its default path in both) in optk_bench's CSV format to stdout; ns per
parameter.  The gradients are restored from a pristine copy before every
sample, outside the timed region, as bench/group.c does.

usage: torch_group.py [--quick] [--threads N]"""
import statistics
import sys
import time

import torch

LOSS_SCALE, MAX_NORM = 1024.0, 1.0


def shapes():
    d, ff = 256, 1024
    out = [(8192, d)]
    for _ in range(12):
        out += [(3 * d, d), (3 * d,), (d, d), (d,), (d,), (d,), (ff, d), (ff,), (d, ff), (d,), (d,), (d,)]
    return out + [(d,), (d,)]


def main():
    args = sys.argv[1:]
    quick = "--quick" in args
    threads = [1]
    if "--threads" in args:
        threads = sorted({1, int(args[args.index("--threads") + 1])})
    nsamples = 5 if quick else 11
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(s) * 0.05) for s in shapes()]
    pristine = [torch.randn(s) * 1e-3 * LOSS_SCALE for s in shapes()]
    total = sum(p.numel() for p in params)
    flush = torch.zeros(16 << 20)
    for nth in threads:
        torch.set_num_threads(nth)
        for variant, foreach in (("torch", None), ("torch_foreach", True)):
            opt = torch.optim.AdamW(params, foreach=foreach) if foreach else torch.optim.AdamW(params)
            grads = [torch.empty_like(p) for p in params]
            for p, g in zip(params, grads):
                p.grad = g

            def step():
                gs = [p.grad for p in params]
                if foreach:
                    torch._foreach_mul_(gs, 1.0 / LOSS_SCALE)
                    finite = all(bool(torch.isfinite(n)) for n in torch._foreach_norm(gs))
                else:
                    for g in gs:
                        g.mul_(1.0 / LOSS_SCALE)
                    finite = all(bool(torch.isfinite(g).all()) for g in gs)
                if finite:
                    torch.nn.utils.clip_grad_norm_(params, MAX_NORM)  # 1.13: no foreach argument
                    opt.step()

            samples = []
            for i in range(nsamples + 1):
                with torch.no_grad():
                    for g, g0 in zip(grads, pristine):
                        g.copy_(g0)
                    flush.add_(1.0)
                    t0 = time.perf_counter()
                    step()
                    dt = time.perf_counter() - t0
                if i > 0:  # the first is the warm-up (state allocation)
                    samples.append(dt)
            samples.sort()
            med = statistics.median(samples)
            print(f"group,adamw,f32,torch-{torch.__version__},{variant},{nth},{total},52,"
                  f"{med / total * 1e9:.6g},{samples[0] / total * 1e9:.6g},{samples[-1] / total * 1e9:.6g}",
                  flush=True)
            print(f"torch group {variant} threads={nth}: {med * 1e3:.1f} ms/step", file=sys.stderr)


if __name__ == "__main__":
    main()
