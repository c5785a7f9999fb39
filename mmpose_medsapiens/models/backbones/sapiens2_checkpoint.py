"""Read the published Sapiens2 checkpoints into ``Sapiens2ViT``.

Layouts (tests write each of them at tiny size):

- pretrain release ``sapiens2_<size>_pretrain.safetensors`` (Hugging Face
  ``facebook/sapiens2-pretrain-<size>``): a flat dict of the backbone's
  tensors under the reference module's names, ``blocks.N.*`` for the layers,
  ``rope_embed.periods`` included;
- task releases such as ``sapiens2_<size>_pose.safetensors``: the whole
  estimator, backbone tensors under ``backbone.``;
- ``.pth`` files of the Sapiens2 trainer: the same tensors in a
  ``state_dict``, ``model`` or ``teacher`` entry.

Here the layers are ``layers.N`` (what MMPose's layer-wise lr decay reads);
every other name is kept. Loading is all-or-error: a backbone tensor missing
from the file, or a file tensor the backbone does not have, is named in an
:class:`IncompleteCheckpointError` instead of being skipped.
"""
import re
from typing import Dict, Optional

import torch
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import CheckpointLoader

from .sapiens_checkpoint import (IncompleteCheckpointError, canonical_backbone_key, describe_keys,
                                 fit_problems)

# Entries of a training checkpoint that hold the weights, in order of preference.
_STATE_ENTRIES = ('state_dict', 'model', 'teacher')


def load_state_file(filename: str, map_location='cpu') -> dict:
    """A checkpoint file or URL as a dict, reading only tensors.

    Goes through mmengine's loader, which this package replaces (see
    :mod:`mmpose_medsapiens.utils.safe_checkpoint`): ``.pth`` files unpickle
    in weights-only mode, ``.safetensors`` files are read as tensors, and an
    ``http(s)://`` address is downloaded once into the weights cache.

    Args:
        filename (str): Local path or URL.
        map_location: Same as :func:`torch.load`.
    """
    return CheckpointLoader.load_checkpoint(str(filename), map_location=map_location)


def sapiens2_key(key: str) -> str:
    """A backbone key of a published Sapiens2 layout to ``Sapiens2ViT``'s name."""
    return re.sub(r'^blocks\.(\d+)\.', r'layers.\1.', canonical_backbone_key(key))


def extract_sapiens2_state(checkpoint: dict,
                           prefix: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """The backbone tensors of a loaded checkpoint, with ``Sapiens2ViT``'s names.

    Args:
        checkpoint (dict): Flat, or with a ``state_dict`` / ``model`` /
            ``teacher`` entry.
        prefix (str, optional): Keep only keys under this prefix. By default
            ``backbone.`` when any key has it (task releases), else the whole
            dict (pretrain releases).
    """
    state = checkpoint
    for entry in _STATE_ENTRIES:
        if isinstance(checkpoint.get(entry), dict):
            state = checkpoint[entry]
            break
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    if prefix is None:
        prefix = 'backbone.' if any(k.startswith('backbone.') for k in state) else ''
    return {sapiens2_key(k[len(prefix):]): v for k, v in state.items() if k.startswith(prefix)}


def read_sapiens2_state(filename: str, prefix: Optional[str] = None,
                        map_location='cpu') -> Dict[str, torch.Tensor]:
    """:func:`extract_sapiens2_state` of the file ``filename``."""
    return extract_sapiens2_state(load_state_file(filename, map_location), prefix)


def check_sapiens2_state(model: torch.nn.Module, state: dict, source: str) -> None:
    """Raise unless ``state`` fills every non-LoRA tensor of ``model`` and nothing else.

    Raises:
        IncompleteCheckpointError: Names the absent, unexpected and
            other-shaped keys.
    """
    problems = fit_problems(
        model.state_dict(), state,
        ('absent', 'not in the backbone', 'other shape (checkpoint vs backbone)'),
        optional=lambda key: '.lora_' in key)
    if problems:
        raise IncompleteCheckpointError(
            f'Checkpoint {source} does not fit {type(model).__name__} ({"; ".join(problems)}). '
            f'Check the arch (and use_tokenizer for the 4K model) and the init_cfg prefix.')


def load_sapiens2_checkpoint(model: torch.nn.Module, filename: str,
                             prefix: Optional[str] = None, map_location='cpu') -> dict:
    """Load a published Sapiens2 checkpoint into ``model``, all or nothing.

    The LoRA adapters are the only tensors that may be absent (they start
    fresh).

    Raises:
        IncompleteCheckpointError: See :func:`check_sapiens2_state`.

    Returns:
        dict: ``matched`` and ``missing`` (the new adapters) key lists.
    """
    state = read_sapiens2_state(filename, prefix, map_location)
    check_sapiens2_state(model, state, filename)
    model.load_state_dict(state, strict=False)
    own = model.state_dict()
    report = dict(matched=sorted(state), missing=sorted(k for k in own if k not in state))
    MMLogger.get_current_instance().info(
        f'Loaded {len(state)}/{len(own)} backbone tensors from {filename}'
        + (f'; new LoRA adapters: {describe_keys(report["missing"])}'
           if report['missing'] else ''))
    return report
