"""Checkpoints load in weights-only mode; a malicious pickle is refused."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader

from mmpose_medsapiens.utils import UnsafeCheckpointError, safe_torch_load


class _RunsCommand:
    """Unpickling this object calls os.system (the classic pickle exploit)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def _write_malicious(path, marker, zip_format=True):
    payload = {'state_dict': {}, 'payload': _RunsCommand(marker)}
    if zip_format:  # what torch.save writes
        torch.save(payload, path)
    else:  # the legacy raw-pickle format torch.load also accepts
        with open(path, 'wb') as f:
            pickle.dump(payload, f, protocol=2)


@pytest.mark.parametrize('zip_format', [True, False])
def test_malicious_checkpoint_is_refused_and_command_not_run(tmp_path, zip_format):
    ckpt, marker = tmp_path / 'evil.pth', tmp_path / 'pwned'
    _write_malicious(ckpt, marker, zip_format)
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        safe_torch_load(str(ckpt))
    # mmengine's own entry points (resume, load_from, init_cfg) go through it too.
    with pytest.raises(UnsafeCheckpointError, match='Refused to load checkpoint'):
        CheckpointLoader.load_checkpoint(str(ckpt), map_location='cpu')
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(torch.nn.Linear(2, 2), str(ckpt))
    assert not marker.exists(), 'the pickle payload ran'


def test_mmengine_training_state_types_load(tmp_path):
    """The allow-listed types round-trip; nothing else is needed for them."""
    buffer = HistoryBuffer()
    buffer.update(1.5)
    state = {
        'state_dict': {'w': torch.ones(2)},
        'meta': {'dataset_meta': {'sigmas': np.array([0.1, 0.2], dtype=np.float32),
                                  'flip_indices': [0, 1], 'weights': np.ones(3),
                                  'empty': np.zeros((0, 2))},
                 'seed': np.int64(3), 'lr': np.float64(0.5)},
        'message_hub': {'log_scalars': {'train/loss': buffer}},
    }
    path = tmp_path / 'ok.pth'
    torch.save(state, path)
    loaded = safe_torch_load(str(path))
    np.testing.assert_array_equal(loaded['meta']['dataset_meta']['sigmas'],
                                  np.array([0.1, 0.2], dtype=np.float32))
    assert loaded['meta']['seed'] == 3
    assert loaded['meta']['dataset_meta']['empty'].shape == (0, 2)
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 1.5
    # Plain torch.load (default weights_only=True) now reads them as well.
    assert torch.load(path)['meta']['lr'] == 0.5


def test_weights_only_is_not_disabled_globally(tmp_path):
    ckpt, marker = tmp_path / 'evil.pth', tmp_path / 'pwned'
    _write_malicious(ckpt, marker)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(ckpt)
    assert not marker.exists()


class _ReadsAttribute:
    """Unpickles through ``getattr(owner, name)``."""

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return (getattr, (self.owner, self.name))


@pytest.mark.parametrize('owner,name', [(np.ndarray, 'tofile'), (HistoryBuffer, '__init__')])
def test_getattr_is_restricted_to_history_buffer_methods(tmp_path, owner, name):
    path = tmp_path / 'getattr.pth'
    torch.save({'x': _ReadsAttribute(owner, name)}, path)
    with pytest.raises(UnsafeCheckpointError, match='not allowed'):
        safe_torch_load(str(path))
    ok = tmp_path / 'ok.pth'
    torch.save({'x': _ReadsAttribute(HistoryBuffer, 'mean')}, ok)
    assert safe_torch_load(str(ok))['x'] is HistoryBuffer.mean
