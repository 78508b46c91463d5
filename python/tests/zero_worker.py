"""One rank of the ZeroRedundancyOptimizer test (test_zero.py), run by
torch.multiprocessing.spawn: trains on the same data as every other rank,
steps its shard with optkern.torch.AdamW, and saves its parameters and (on
rank 0) the consolidated optimizer state."""
import os

import torch
import torch.distributed as dist
from torch.distributed.optim import ZeroRedundancyOptimizer
from torch.nn.parallel import DistributedDataParallel

import optkern.torch as ot
from helpers import batches, loss_of

OPTS = dict(lr=0.01, weight_decay=0.1, betas=(0.9, 0.99))
STEPS = 12


def model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32), torch.nn.Tanh(),
                               torch.nn.Linear(32, 3))


def single(steps=STEPS):
    """The one-process run the shards must reproduce bit for bit."""
    m = model()
    opt = ot.AdamW(m.parameters(), **OPTS)
    for x, y in batches(steps, seed=5):
        opt.zero_grad()
        loss_of(m, x, y).backward()
        opt.step()
    return [p.detach().clone() for p in m.parameters()], opt.state_dict()


def rank_main(rank, world, port, out_dir, ddp):
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % port, rank=rank, world_size=world)
    try:
        m = model()
        # Every rank sees the same batch, so DDP's average of the gradients
        # (each divided by the world size, then summed) is exact.
        net = DistributedDataParallel(m) if ddp else m
        opt = ZeroRedundancyOptimizer(m.parameters(), optimizer_class=ot.AdamW, **OPTS)
        local = sum(len(g["params"]) for g in opt.optim.param_groups)
        for x, y in batches(STEPS, seed=5):
            opt.zero_grad()
            loss_of(net, x, y).backward()
            opt.step()
        opt.consolidate_state_dict(to=0)
        out = {"params": [p.detach().clone() for p in m.parameters()], "local": local,
               "optim_type": type(opt.optim).__name__}
        if rank == 0:
            out["state"] = opt.state_dict()
        torch.save(out, os.path.join(out_dir, "rank%d.pt" % rank))
    finally:
        dist.destroy_process_group()
