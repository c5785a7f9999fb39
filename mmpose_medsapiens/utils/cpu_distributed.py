"""Distributed training and testing on machines without CUDA.

mmengine 0.10.7 assumes a GPU per rank: ``init_dist`` calls
``torch.cuda.set_device`` and the runner wraps the model in DDP with
``device_ids=[LOCAL_RANK]``, both of which fail on CPU-only hosts. The tools
call :func:`setup_cpu_distributed` before building the runner; on GPU
machines it does nothing.
"""
import os

import torch
import torch.distributed as torch_dist
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel
# The runner looks wrappers up in mmengine's root registry, not by scope.
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module(force=True)
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for CPU modules (no ``device_ids``).

    Buffers are not broadcast from rank 0 at each forward, as on CUDA, where
    mmengine wraps with ``broadcast_buffers=False``: a CPU run then shows
    what a GPU run does (see :class:`SyncBuffersEveryIterHook`).
    """

    def __init__(self, module, device_ids=None, broadcast_buffers=False, **kwargs):
        super().__init__(module=module, device_ids=None, broadcast_buffers=broadcast_buffers,
                         **kwargs)


def setup_cpu_distributed(cfg) -> bool:
    """Initialise a gloo process group for a CPU run launched by torchrun.

    Args:
        cfg (Config): The run's config; ``cfg.launcher`` must be set. Its
            ``model_wrapper_cfg`` is pointed at :class:`CPUDistributedDataParallel`
            unless the user chose a wrapper.

    Returns:
        bool: Whether a CPU process group was set up.
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return False
    if not torch_dist.is_initialized():
        backend = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend', 'gloo')
        if backend != 'gloo':
            print_log(f'No CUDA device: using the gloo backend instead of {backend}',
                      logger='current')
        torch_dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']),
                                      world_size=int(os.environ['WORLD_SIZE']))
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='CPUDistributedDataParallel')
    return True


def close_distributed() -> bool:
    """Wait for every rank, then destroy the default process group.

    A process that exits with its process group alive leaves gloo's worker
    threads to the interpreter's teardown, which can abort the rank
    (``terminate called without an active exception``) after all its work is
    done, failing the launcher. The tools call this after ``runner.train()`` /
    ``runner.test()``; outside a distributed run it does nothing.

    Returns:
        bool: Whether a process group was destroyed.
    """
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return False
    torch_dist.barrier()
    torch_dist.destroy_process_group()
    return True
