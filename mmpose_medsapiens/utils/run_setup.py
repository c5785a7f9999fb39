"""Settings the training and test tools apply before building the runner."""
import os
from typing import MutableMapping, Optional

import torch

from .cpu_distributed import setup_cpu_distributed

# Ports derived from a slurm job id: above the usual service ports, below the
# ephemeral range Linux hands out (32768-60999 by default).
SLURM_PORT_BASE = 20000
SLURM_PORT_SPAN = 10000


def set_slurm_master_port(environ: MutableMapping = os.environ) -> Optional[str]:
    """Give a slurm job a master port of its own, unless one is set.

    mmengine's slurm launcher falls back to a fixed ``MASTER_PORT=29500``, so
    two jobs sharing a node collide. Every task of a job sees the same
    ``SLURM_JOB_ID``, so each derives the same port without talking.

    Args:
        environ (MutableMapping): The environment to read and update.

    Returns:
        str, optional: The port set, or None when ``MASTER_PORT`` was already
        set or this is not a slurm job.
    """
    if environ.get('MASTER_PORT') or not environ.get('SLURM_JOB_ID'):
        return None
    port = str(SLURM_PORT_BASE + int(environ['SLURM_JOB_ID']) % SLURM_PORT_SPAN)
    environ['MASTER_PORT'] = port
    return port


def apply_tf32(cfg) -> bool:
    """Set TF32 matmuls and convolutions for float32 work from ``cfg.env_cfg.allow_tf32``.

    On Ampere and Hopper GPUs TF32 runs float32 matrix products on tensor
    cores (10-bit mantissa inputs, float32 accumulation); PyTorch leaves it
    off for matmuls. Mixed-precision runs are unaffected for the autocast
    part. Without the key nothing is changed.

    Args:
        cfg (Config): The run's config.

    Returns:
        bool: The value applied (False when the config does not ask).
    """
    allow = cfg.get('env_cfg', {}).get('allow_tf32')
    if allow is None:
        return False
    torch.backends.cuda.matmul.allow_tf32 = bool(allow)
    torch.backends.cudnn.allow_tf32 = bool(allow)
    return bool(allow)


def global_batch_note(cfg, world_size: int) -> Optional[str]:
    """A note when the run's global batch differs from the recipe's, else None.

    The learning rate of a recipe belongs to its global batch
    (``auto_scale_lr.base_batch_size``, e.g. 2 images x 4 GPUs = 8).

    Args:
        cfg (Config): The run's config.
        world_size (int): Number of ranks.
    """
    auto = cfg.get('auto_scale_lr') or {}
    base = auto.get('base_batch_size')
    if base is None or 'train_dataloader' not in cfg or cfg.get('train_cfg') is None:
        return None
    loader = cfg.train_dataloader
    per_rank = loader.get('sampler', {}).get('batch_size', loader.get('batch_size'))
    batch = per_rank * world_size
    if batch == base:
        return None
    if auto.get('enable', False):
        return (f'global batch {batch} ({world_size} rank(s) x {per_rank}) differs from the '
                f"recipe's {base}: the learning rate is scaled by {batch / base:g} "
                '(auto_scale_lr)')
    fitting = base / world_size
    keep = (f' or --cfg-options train_dataloader.batch_size={int(fitting)} to keep the '
            "recipe's batch" if fitting == int(fitting) and fitting >= 1 else '')
    return (f'global batch {batch} ({world_size} rank(s) x {per_rank}) differs from the '
            f"recipe's {base} (auto_scale_lr.base_batch_size), and the learning rate is "
            f'not scaled: pass --auto-scale-lr to scale it by {batch / base:g}{keep}')


def prepare_run(cfg) -> None:
    """What ``tools/train.py`` and ``tools/test.py`` set before building the runner.

    A slurm job's own master port, TF32 as ``env_cfg.allow_tf32`` says, and
    the gloo process group of a torchrun job on a CPU-only host.

    Args:
        cfg (Config): The run's config, ``launcher`` set.
    """
    if cfg.get('launcher') == 'slurm':
        set_slurm_master_port()  # jobs sharing a node must not share mmengine's 29500
    apply_tf32(cfg)
    setup_cpu_distributed(cfg)
