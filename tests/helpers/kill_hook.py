"""A hook that kills its own process, to test resuming after a hard stop."""
import os
import signal

from mmengine.hooks import Hook
from mmpose.registry import HOOKS


@HOOKS.register_module()
class KillAfterIterHook(Hook):
    """SIGKILL the process after ``iteration`` training iterations.

    Runs with the lowest priority, i.e. after CheckpointHook saved that
    iteration, like a node lost right after a checkpoint.
    """

    priority = 'LOWEST'

    def __init__(self, iteration: int):
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 >= self.iteration:
            os.kill(os.getpid(), signal.SIGKILL)
