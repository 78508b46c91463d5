"""optkern.torch: drop-ins for torch.optim's optimizers (and DeepSpeed's CPU
Adam) whose step runs optkern's kernels: the same constructor signatures,
defaults, errors, param groups and state_dict format, so that a training loop
switches with one import line:

    from optkern.torch import AdamW      # was: from torch.optim import AdamW

Parameters must be CPU tensors of float32, float64, bfloat16 or float16
(bfloat16/float16 keep float32 state).  optkern uses torch.get_num_threads()
threads unless optkern.set_num_threads() says otherwise.
"""
from ._base import Optimizer
from ._optim import SGD, Adagrad, RMSprop, Adam, AdamW, Adamax, NAdam, RAdam, Adadelta
from ._deepspeed import DeepSpeedCPUAdam

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adadelta",
           "DeepSpeedCPUAdam"]
