"""torch.distributed.optim.ZeroRedundancyOptimizer with
optimizer_class=optkern.torch.AdamW, 2 processes over gloo on 127.0.0.1,
with and without DistributedDataParallel: every rank ends with exactly the
bits of one process stepping the whole model, and so does the consolidated
optimizer state.  optkern's per-element determinism makes that possible."""
import socket

import pytest

torch = pytest.importorskip("torch")  # Debian's python3-torch; scripts/install-deps python
import torch.distributed as dist

from conftest import need_kernels
import zero_worker

pytestmark = pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()),
                                reason="torch.distributed with gloo is not available")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("ddp", [False, True], ids=["zero", "zero+ddp"])
def test_sharded_equals_single_process(ddp, tmp_path):
    need_kernels("torch_adamw")
    torch.multiprocessing.spawn(zero_worker.rank_main, args=(2, free_port(), str(tmp_path), ddp), nprocs=2,
                                join=True)
    params, state = zero_worker.single()
    ranks = [torch.load(tmp_path / ("rank%d.pt" % r)) for r in range(2)]
    assert all(r["optim_type"] == "AdamW" for r in ranks)
    assert sum(r["local"] for r in ranks) == len(params) and all(0 < r["local"] < len(params) for r in ranks)
    for r in ranks:
        for p, q in zip(r["params"], params):
            assert torch.equal(p, q)
    sharded = ranks[0]["state"]["state"]
    assert sorted(sharded) == sorted(state["state"])
    for k, st in state["state"].items():
        for name, v in st.items():
            assert torch.equal(sharded[k][name], v), (k, name)
