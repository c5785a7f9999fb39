"""Settings the tools apply before the runner: slurm port, TF32, the global batch."""
import os
import os.path as osp

import pytest
import torch
from conftest import REPO_ROOT
from mmengine.config import Config

from mmpose_medsapiens.utils import apply_tf32, global_batch_note, set_slurm_master_port


def test_slurm_jobs_get_a_port_of_their_own():
    first, second = dict(SLURM_JOB_ID='123456'), dict(SLURM_JOB_ID='123457')
    assert set_slurm_master_port(first) == first['MASTER_PORT']
    set_slurm_master_port(second)
    assert first['MASTER_PORT'] != second['MASTER_PORT']
    assert 20000 <= int(first['MASTER_PORT']) < 30000
    # Every task of one job derives the same port.
    assert set_slurm_master_port(dict(SLURM_JOB_ID='123456')) == first['MASTER_PORT']


def test_a_set_master_port_and_non_slurm_runs_are_left_alone():
    env = dict(SLURM_JOB_ID='7', MASTER_PORT='29999')
    assert set_slurm_master_port(env) is None and env['MASTER_PORT'] == '29999'
    env = dict()
    assert set_slurm_master_port(env) is None and env == {}


@pytest.fixture
def tf32_flags():
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def test_shipped_configs_turn_tf32_on_and_the_flag_is_honoured(tf32_flags):
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'sapiens_lora_head.py'))
    assert cfg.env_cfg.allow_tf32 is True and cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert apply_tf32(cfg) is True
    assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    cfg.env_cfg.allow_tf32 = False
    assert apply_tf32(cfg) is False
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32


def test_global_batch_other_than_the_recipes_is_named_with_the_fix():
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'sapiens_lora_head.py'))
    assert global_batch_note(cfg, 4) is None  # 4 GPUs x 2 = the recipe's 8
    note = global_batch_note(cfg, 8)
    assert 'global batch 16 (8 rank(s) x 2)' in note and '--auto-scale-lr' in note
    assert 'by 2' in note and 'train_dataloader.batch_size=1' in note
    cfg.auto_scale_lr.enable = True
    assert 'scaled by 2' in global_batch_note(cfg, 8)
    cfg.auto_scale_lr.enable = False
    assert 'batch_size=' not in global_batch_note(cfg, 3)  # 8 / 3 images per rank: no fit


def test_prepare_run_sets_what_the_tools_need(tf32_flags, monkeypatch):
    from mmpose_medsapiens.utils import prepare_run
    monkeypatch.setenv('SLURM_JOB_ID', '4242')
    monkeypatch.setenv('MASTER_PORT', '')  # unset, and restored after the test
    torch.backends.cuda.matmul.allow_tf32 = False
    prepare_run(Config(dict(launcher='slurm', env_cfg=dict(allow_tf32=True))))
    assert os.environ['MASTER_PORT'] == str(20000 + 4242)
    assert torch.backends.cuda.matmul.allow_tf32
