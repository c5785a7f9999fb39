"""Shared fixtures: a tiny synthetic landmark set and a tiny model config.

The suite imports the plugin from its editable install (``make setup``).
"""
import os
import os.path as osp
import subprocess
import sys

import pytest

import mmpose_medsapiens  # noqa: F401  (registers modules, safe loading)
from mmpose_medsapiens.testing import generate_synthetic_dataset

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# The demo config shrunk to seconds of CPU time: a 2-layer, 32-dim ViT.
TINY_CONFIG = """
_base_ = [{base!r}]
data_root = {data_root!r}
input_size = (64, 80)
codec = dict(type='MSRAHeatmap', input_size=input_size, heatmap_size=(16, 20), sigma=2,
             unbiased=True)
model = dict(
    backbone=dict(arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
                  img_size=(80, 64)),
    head=dict(in_channels=32, deconv_out_channels=(16, 16), conv_out_channels=(16, ),
              decoder=codec))
train_pipeline = [
    dict(type='LoadMedicalImage'),
    dict(type='GetBBoxCenterScale', padding=1.0),
    dict(type='RandomBBoxTransform', shift_factor=0.05, scale_factor=(0.9, 1.1),
         rotate_factor=10.0),
    dict(type='TopdownAffine', input_size=input_size),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs', meta_keys={{{{_base_.meta_keys}}}}),
]
val_pipeline = [
    dict(type='LoadMedicalImage'),
    dict(type='GetBBoxCenterScale', padding=1.0),
    dict(type='TopdownAffine', input_size=input_size),
    dict(type='PackPoseInputs', meta_keys={{{{_base_.meta_keys}}}}),
]
train_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, dataset=dict(data_root=data_root, pipeline=val_pipeline))
test_dataloader = dict(batch_size=2, dataset=dict(data_root=data_root, pipeline=val_pipeline))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=6, val_interval=6)
param_scheduler = [dict(type='LinearLR', begin=0, end=4, start_factor=0.1, by_epoch=False)]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=3, max_keep_ckpts=-1,
                    save_best=None))
log_processor = dict(by_epoch=False)
"""


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'slow: runs the tools in subprocesses or trains; left out by make test-fast')
    config.addinivalue_line(
        'markers', 'benchmark: runs a benchmark script end to end (minutes each); '
        'left out by make test, run by make test-bench')


@pytest.fixture(scope='session')
def synthetic_data(tmp_path_factory):
    """16 train / 4 val / 5 test synthetic images (5: odd, for DDP padding)."""
    root = tmp_path_factory.mktemp('synthetic')
    generate_synthetic_dataset(str(root), num_train=16, num_val=4, num_test=5, seed=0)
    return str(root)


@pytest.fixture(scope='session')
def tiny_config(synthetic_data, tmp_path_factory):
    """Path of a config file training the tiny model on ``synthetic_data``."""
    path = tmp_path_factory.mktemp('configs') / 'tiny_synthetic.py'
    path.write_text(TINY_CONFIG.format(
        base=osp.join(REPO_ROOT, 'configs', 'demo_synthetic_ceph.py'),
        data_root=synthetic_data + '/'))
    return str(path)


def _tool_env(env, cpu_only):
    full_env = dict(os.environ)
    full_env.setdefault('OMP_NUM_THREADS', '1')
    if cpu_only:
        full_env['CUDA_VISIBLE_DEVICES'] = ''
    full_env.update(env or {})
    return full_env


def _tool_command(args):
    return ['bash', *args] if args[0].endswith('.sh') else [sys.executable, *args]


def run_tool(args, timeout=600, env=None, check=True, cpu_only=False):
    """Run a command from the repo root with this interpreter; return the process.

    ``cpu_only`` hides every GPU from the command, for tests of the CPU path
    (``CPUAmpOptimWrapper``, ``CPUDistributedDataParallel``) that the tools
    only take without CUDA: on a GPU host they would otherwise test the GPU
    path's choices and fail.
    """
    proc = subprocess.run(_tool_command(args), cwd=REPO_ROOT, env=_tool_env(env, cpu_only),
                          timeout=timeout, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} exited {proc.returncode}\n--- stdout\n'
                             f'{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-6000:]}')
    return proc


def start_tool(args, env=None, cpu_only=False):
    """Start what :func:`run_tool` runs without waiting; end it with :func:`finish_tool`."""
    proc = subprocess.Popen(_tool_command(args), cwd=REPO_ROOT, env=_tool_env(env, cpu_only),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.args_given = args
    return proc


def finish_tool(proc, timeout=600):
    """Wait for a :func:`start_tool` process; raise with its output unless it exited 0."""
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise AssertionError(f'{proc.args_given} exited {proc.returncode}\n--- stdout\n'
                             f'{stdout[-4000:]}\n--- stderr\n{stderr[-6000:]}')
    return stdout, stderr


def derived_config(base_config, path, **overrides):
    """Write a config at ``path`` inheriting ``base_config`` with ``overrides``.

    Values are written with ``repr``; test-only hooks under ``tests/helpers``
    are importable by name when the run's PYTHONPATH includes that folder.
    """
    lines = [f'_base_ = [{str(base_config)!r}]']
    lines += [f'{key} = {value!r}' for key, value in overrides.items()]
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


@pytest.fixture(scope='session')
def udp_config(tiny_config, tmp_path_factory):
    """The tiny config with UDP heatmaps and the flip test (the recipe's decoding)."""
    from helpers.trained_udp_model import write_udp_config
    return write_udp_config(tiny_config, tmp_path_factory.mktemp('udp') / 'tiny_udp.py')


@pytest.fixture(scope='session')
def fitted_udp_checkpoint(udp_config, tmp_path_factory):
    """A checkpoint of ``udp_config``'s model fitted to its training images."""
    from helpers.trained_udp_model import fit_tiny_model
    path = str(tmp_path_factory.mktemp('fitted') / 'fitted_udp.pth')
    fit_tiny_model(udp_config, path)
    return path
