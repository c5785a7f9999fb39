"""Load mmengine checkpoints with ``torch.load(weights_only=True)``.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``. From torch 2.6
on, that means ``weights_only=True`` and mmengine's own checkpoints (which hold
numpy arrays and mmengine's ``HistoryBuffer`` in their ``meta`` and
``message_hub``) are refused, so ``--resume`` and ``tools/test.py CKPT`` break.
Turning ``weights_only`` off would let any downloaded ``.pth`` run code on
unpickling. Instead, :func:`install` allow-lists exactly the extra types that
mmengine/MMPose checkpoints contain and makes the local-file loader always
unpickle in weights-only mode, with an error that names the file when a
checkpoint holds anything else.

The same loader reads ``.safetensors`` files (tensors only, nothing to
unpickle) and, for ``http(s)://`` addresses, the copy kept by
:mod:`.weights_download`, so a config may name a published checkpoint by URL.
"""
import importlib
import os.path as osp
import pickle
from typing import List

import torch
from mmengine.dist import barrier, get_dist_info, get_local_rank
from mmengine.runner.checkpoint import CheckpointLoader

from .numpy_pickle_globals import NUMPY_PICKLE_GLOBALS
from .weights_download import (URL_PREFIXES, WeightsDownloadError, cached_path, download_weights,
                               is_safetensors)

# "module:attribute" of every non-tensor type found in checkpoints written by
# mmengine's Runner for MMPose models (meta.dataset_meta, message_hub,
# optimizer and scheduler states): mmengine's HistoryBuffer and numpy values.
CHECKPOINT_SAFE_GLOBALS = ('mmengine.logging.history_buffer:HistoryBuffer', ) + NUMPY_PICKLE_GLOBALS


# mmengine's HistoryBuffer pickles its statistics methods (``min``, ``max``,
# ``current``, ``mean``) as ``getattr(HistoryBuffer, name)``. Allowing the real
# ``getattr`` would hand any attribute of any allowed object to the pickle;
# this stand-in resolves exactly those four and refuses everything else.
_HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')


def _history_buffer_getattr(obj, name):
    from mmengine.logging import HistoryBuffer
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({getattr(obj, "__name__", type(obj).__name__)}, {name!r}) is not allowed '
        f'in a checkpoint')


def _empty_bytes(*args):
    # Pickle protocol 2 (torch.save) writes an empty ``bytes`` (e.g. the data
    # of a zero-size numpy array) as ``bytes()``; non-empty ones go through
    # ``_codecs.encode``, which torch already allows. Nothing else is needed.
    if args:
        raise pickle.UnpicklingError('bytes(...) with arguments is not allowed in a checkpoint')
    return b''


def _resolve(spec: str):
    module, attr = spec.split(':')
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None


def safe_globals() -> List[object]:
    """The allow-listed objects that exist in this environment."""
    allowed = [obj for obj in map(_resolve, CHECKPOINT_SAFE_GLOBALS) if obj is not None]
    return allowed + [(_history_buffer_getattr, 'builtins.getattr'),
                      (_empty_bytes, 'builtins.bytes')]


class UnsafeCheckpointError(pickle.UnpicklingError):
    """Raised when a checkpoint holds objects outside the allow-list."""


def safe_torch_load(filename, map_location=None):
    """``torch.load(weights_only=True)`` with the checkpoint allow-list.

    Args:
        filename (str | file-like): The checkpoint.
        map_location: Same as :func:`torch.load`.

    Raises:
        UnsafeCheckpointError: The file's pickle references a global outside
            the allow-list (for instance a function that would run a command).
    """
    # Registered process-wide (idempotent, a set): torch's scoped
    # ``safe_globals`` context would drop them again on exit.
    torch.serialization.add_safe_globals(safe_globals())
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise UnsafeCheckpointError(
            f'Refused to load checkpoint {filename}: it contains objects that are '
            f'not plain weights or mmengine training state, and unpickling them '
            f'could run arbitrary code. Only load it with weights_only=False if you '
            f'trust its source.\nDetails: {e}') from e


def load_safetensors(filename: str, map_location=None) -> dict:
    """The tensors of a ``.safetensors`` file, as a flat state dict.

    Args:
        filename (str): The file.
        map_location: ``None``, a device or device string; mmengine's
            callables (``lambda storage, loc: storage``) mean the CPU.
    """
    try:
        from safetensors.torch import load_file
    except ImportError as e:  # a pinned dependency; only a broken install lacks it
        raise ImportError(f'Reading {filename} needs the safetensors package '
                          f'(pip install safetensors)') from e
    device = map_location if isinstance(map_location, (str, torch.device)) else 'cpu'
    return load_file(filename, device=str(device))


def load_weights_file(filename: str, map_location=None):
    """A local checkpoint: safetensors by suffix, else weights-only ``torch.load``.

    Args:
        filename (str): ``.pth``/``.pt``/``.bin`` or ``.safetensors`` path.
        map_location: Same as :func:`torch.load`.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    if is_safetensors(filename):
        return load_safetensors(filename, map_location)
    return safe_torch_load(filename, map_location=map_location)


def _load_from_local(filename, map_location):
    return load_weights_file(filename, map_location)


def _load_from_url(url, map_location=None, model_dir=None):
    """mmengine's loader for ``http(s)://``: our cache, our weights-only read.

    In a distributed run the first process of each machine downloads while
    the others wait, then all read the same cached file.
    """
    _, world_size = get_dist_info()
    error = None
    if get_local_rank() == 0:
        try:
            download_weights(url, cache_dir=model_dir)
        except WeightsDownloadError as e:
            error = e
    if world_size > 1:
        barrier()
    if error is not None:
        raise error
    path = cached_path(url, model_dir)
    if not osp.isfile(path):
        raise WeightsDownloadError(f'{url}: the download on this machine\'s first process '
                                   f'failed (see its log); nothing is cached at {path}')
    return load_weights_file(path, map_location)


def install() -> None:
    """Make mmengine load local checkpoints safely on any torch version.

    Registers the allow-list globally (so third-party code calling
    ``torch.load`` with torch's default ``weights_only=True`` also reads
    mmengine checkpoints) and replaces mmengine's local-path loader by
    :func:`safe_torch_load`, which forces weights-only mode even on torch
    versions whose default is still ``False``, and its URL loader by
    :func:`_load_from_url` (cache keyed by the whole URL, safetensors read).
    """
    torch.serialization.add_safe_globals(safe_globals())
    CheckpointLoader.register_scheme(prefixes='', force=True)(_load_from_local)
    CheckpointLoader.register_scheme(prefixes=URL_PREFIXES, force=True)(_load_from_url)
