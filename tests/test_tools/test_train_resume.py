"""tools/train.py --resume after a hard kill reaches the uninterrupted result."""
import json
import os
import os.path as osp

import pytest
import torch
from conftest import REPO_ROOT, derived_config, run_tool

from mmpose_medsapiens.utils import safe_torch_load

# Subprocess runs of the tools: left out by make test-fast.
pytestmark = pytest.mark.slow

HELPERS = osp.join(REPO_ROOT, 'tests', 'helpers')


def _train(config, work_dir, *extra, check=True, env=None):
    return run_tool(['tools/train.py', config, '--work-dir', work_dir, *extra],
                    check=check, env=env)


def _test(config, ckpt, work_dir, out):
    run_tool(['tools/test.py', config, ckpt, '--work-dir', work_dir, '--out', out])
    with open(out) as f:
        return json.load(f)


def test_resume_after_kill_matches_uninterrupted_run(tiny_config, tmp_path):
    full_dir, killed_dir = str(tmp_path / 'full'), str(tmp_path / 'killed')
    _train(tiny_config, full_dir)

    # Same run, killed right after the iteration-3 checkpoint.
    env = dict(PYTHONPATH=HELPERS + os.pathsep + os.environ.get('PYTHONPATH', ''))
    killing = derived_config(tiny_config, tmp_path / 'killing.py',
                             custom_imports=dict(imports=['mmpose_medsapiens', 'kill_hook']),
                             custom_hooks=[dict(type='KillAfterIterHook', iteration=3)])
    proc = _train(killing, killed_dir, check=False, env=env)
    assert proc.returncode != 0, 'the kill hook did not stop training'
    assert osp.isfile(osp.join(killed_dir, 'iter_3.pth'))
    assert not osp.isfile(osp.join(killed_dir, 'iter_6.pth'))

    # Auto-resume from the latest checkpoint in the work dir.
    proc = _train(tiny_config, killed_dir, '--resume')
    assert 'resumed' in (proc.stdout + proc.stderr).lower()

    full = safe_torch_load(osp.join(full_dir, 'iter_6.pth'))
    resumed = safe_torch_load(osp.join(killed_dir, 'iter_6.pth'))
    assert full['meta']['iter'] == resumed['meta']['iter'] == 6
    assert full['state_dict'].keys() == resumed['state_dict'].keys()
    for key, value in full['state_dict'].items():
        torch.testing.assert_close(resumed['state_dict'][key], value, rtol=0, atol=1e-6,
                                   msg=lambda m: f'{key}: {m}')

    # tools/test.py loads the runner's own checkpoints and gives equal metrics.
    m_full = _test(tiny_config, osp.join(full_dir, 'iter_6.pth'), str(tmp_path / 't1'),
                   str(tmp_path / 'full.json'))
    m_resumed = _test(tiny_config, osp.join(killed_dir, 'iter_6.pth'), str(tmp_path / 't2'),
                      str(tmp_path / 'resumed.json'))
    assert 'MRE_mm' in m_full
    for key, value in m_full.items():
        assert abs(m_resumed[key] - value) < 1e-6, key
