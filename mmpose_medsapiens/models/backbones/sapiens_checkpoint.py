"""Read the published Sapiens / MedSapiens checkpoints into ``SapiensViT``.

Three layouts exist (tests write each of them at tiny size):

- pretrain release ``sapiens_<size>_epoch_1600_clean.pth``: a flat dict of
  backbone tensors, ``pos_embed`` on a 64x64 grid plus a class token;
- pose checkpoints ``{state_dict, meta}`` with ``backbone.*`` / ``head.*`` keys
  and ``pos_embed`` on a 64x48 grid;
- MedSapiens releases: full fine-tunes like the pose checkpoints, and LoRA
  models trained through mmpretrain's ``LoRAModel`` whose backbone keys read
  ``backbone.module.layers.N.attn.qkv.{original_layer,lora_down,lora_up}.*``.
"""
import re
from typing import Callable, Dict, List, Optional, Tuple

import torch
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import CheckpointLoader

# mmpretrain's LoRAModel wrapper adds "module." and keeps the base linear as
# "original_layer"; the in-place layout has neither.
_LORA_WRAPPER_KEYS = ((re.compile(r'^module\.'), ''), (re.compile(r'\.original_layer\.'), '.'))


def canonical_backbone_key(key: str) -> str:
    """Map a backbone key of any published layout to ``SapiensViT``'s name."""
    for pattern, repl in _LORA_WRAPPER_KEYS:
        key = pattern.sub(repl, key)
    return key


def extract_backbone_state(checkpoint: dict,
                           prefix: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """The backbone tensors of a checkpoint, with canonical names.

    Args:
        checkpoint (dict): A loaded checkpoint, flat or ``{state_dict, ...}``.
        prefix (str, optional): Keep only keys under this prefix (e.g.
            ``'backbone.'``). By default ``backbone.`` is used when present,
            else the whole (flat) dict.
    """
    state = checkpoint.get('state_dict', checkpoint)
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    if prefix is None:
        prefix = 'backbone.' if any(k.startswith('backbone.') for k in state) else ''
    return {canonical_backbone_key(k[len(prefix):]): v
            for k, v in state.items() if k.startswith(prefix)}


class IncompleteCheckpointError(ValueError):
    """A checkpoint would leave tensors of the model unloaded; names them."""


def describe_keys(keys, limit: int = 12) -> str:
    """``'a, b, ... (N in all)'`` for an error message."""
    keys = list(keys)
    shown = ', '.join(keys[:limit])
    return shown if len(keys) <= limit else f'{shown}, ... ({len(keys)} in all)'


def fit_problems(own: dict, state: dict, names: Tuple[str, str, str],
                 optional: Callable[[str], bool] = lambda key: False) -> List[str]:
    """What keeps ``state`` from filling ``own`` exactly, as message parts.

    Args:
        own (dict): The model's state dict.
        state (dict): The checkpoint's tensors, under the model's names.
        names (tuple[str]): How to call the keys absent from ``state``,
            those ``own`` lacks, and those of another shape.
        optional (callable): Keys of ``own`` that may be absent.

    Returns:
        list[str]: ``'<name>: <keys>'`` per kind of problem; empty if none.
    """
    absent = [k for k in own if k not in state and not optional(k)]
    unexpected = [k for k in state if k not in own]
    mismatched = [f'{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}'
                  for k in state if k in own and state[k].shape != own[k].shape]
    return [f'{what}: {describe_keys(keys)}'
            for what, keys in zip(names, (absent, unexpected, mismatched)) if keys]


def read_backbone_state(model: torch.nn.Module, filename: str, prefix: Optional[str] = None,
                        map_location='cpu') -> Dict[str, torch.Tensor]:
    """The backbone tensors of a published checkpoint, fitted to ``model``.

    Keys get ``SapiensViT``'s names, the pretrain release's class token is
    dropped when the model has none, and ``pos_embed`` is resized to the
    model's grid.
    """
    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location=map_location)
    state = extract_backbone_state(checkpoint, prefix)
    if getattr(model, 'cls_token', None) is None:
        state.pop('cls_token', None)
    if 'pos_embed' in state:
        state['pos_embed'] = model.resize_checkpoint_pos_embed(state['pos_embed'])
    return state


def load_backbone_checkpoint(model: torch.nn.Module, filename: str,
                             prefix: Optional[str] = None, map_location='cpu') -> dict:
    """Load a published checkpoint into ``model`` and log what was loaded.

    Every tensor of the model must come from the checkpoint except the LoRA
    adapters, which start fresh; keys of the checkpoint the model does not
    have (e.g. the pretrain release's MAE decoder) are logged and ignored.

    Raises:
        IncompleteCheckpointError: A tensor of the model other than a LoRA
            adapter is absent from the checkpoint or has another shape, or
            no tensor fits at all.

    Returns:
        dict: ``matched``, ``missing`` (the new adapters) and ``unexpected``
        key lists.
    """
    state = read_backbone_state(model, filename, prefix, map_location)
    own = model.state_dict()
    mismatched = sorted(k for k in state if k in own and state[k].shape != own[k].shape)
    usable = {k: v for k, v in state.items() if k in own and k not in mismatched}
    report = dict(
        matched=sorted(usable),
        missing=sorted(k for k in own if k not in usable and k not in mismatched),
        unexpected=sorted(k for k in state if k not in own))
    if not usable:
        raise IncompleteCheckpointError(
            f'Checkpoint {filename} has no tensor that fits {type(model).__name__} '
            f'(prefix {prefix!r}; first keys: {list(state)[:5]}); refusing to '
            f'continue with random weights')
    absent = [k for k in report['missing'] if '.lora_' not in k]
    if absent or mismatched:
        problems = []
        if absent:
            problems.append(f'absent: {describe_keys(absent)}')
        if mismatched:
            problems.append('other shape: ' + describe_keys(
                f'{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}' for k in mismatched))
        raise IncompleteCheckpointError(
            f'Checkpoint {filename} would leave backbone tensors of {type(model).__name__} '
            f'at their random init ({"; ".join(problems)}). Check the arch and the '
            f'checkpoint (init_cfg prefix {prefix!r}).')
    model.load_state_dict(usable, strict=False)
    _log_report(filename, report, state, own)
    return report


def _log_report(filename, report, state, own):
    logger = MMLogger.get_current_instance()
    lines = [f'Loaded {len(report["matched"])}/{len(own)} backbone tensors from {filename}']
    rows = [(k, 'new LoRA adapter', '') for k in report['missing']]
    rows += [(k, 'unexpected (ignored)', tuple(state[k].shape)) for k in report['unexpected']]
    if rows:
        width = max(len(r[0]) for r in rows)
        lines.append(f'{"key":<{width}}  {"status":<32}  shape')
        lines += [f'{k:<{width}}  {s:<32}  {shape}' for k, s, shape in rows]
    logger.info('\n'.join(lines))
