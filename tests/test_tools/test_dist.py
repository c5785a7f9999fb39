"""2-rank DDP (gloo, CPU) training and evaluation through tools/dist_*.sh."""
import json
import os
import pickle
import socket
import sys

import pytest
from conftest import REPO_ROOT, derived_config, finish_tool, run_tool, start_tool
from mmengine.config import Config

from mmpose_medsapiens.utils import safe_torch_load

# Subprocess runs of the tools: left out by make test-fast.
pytestmark = pytest.mark.slow

HELPERS = os.path.join(REPO_ROOT, 'tests', 'helpers')


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


def test_two_node_gloo_train_syncs_buffers_and_eval_matches_single_process(
        tiny_config, tmp_path):
    """Two nodes of one rank each, without buffer broadcast (as mmengine wraps on CUDA).

    The shipped hooks must leave every rank with the same BatchNorm statistics,
    equal to those validation ran with and to those the checkpoint holds.
    """
    work_dir = str(tmp_path / 'ddp')
    gloo = 'env_cfg.dist_cfg.backend=gloo'  # the default nccl would also fall back
    env = dict(PYTHON=sys.executable)
    probe_dir = tmp_path / 'probe'
    probe_dir.mkdir()
    hooks = list(Config.fromfile(tiny_config).custom_hooks)
    assert any(h['type'] == 'SyncBuffersEveryIterHook' for h in hooks)
    probed = derived_config(
        tiny_config, tmp_path / 'probed.py',
        custom_imports=dict(imports=['mmpose_medsapiens', 'dist_probe_hook']),
        custom_hooks=[dict(h) for h in hooks] + [
            dict(type='DistProbeHook', out_dir=str(probe_dir))])
    nodes = dict(env, NNODES='2', MASTER_ADDR='127.0.0.1', PORT=_free_port(),
                 PYTHONPATH=HELPERS)
    launches = [start_tool(['tools/dist_train.sh', probed, '1', '--work-dir', work_dir,
                            '--cfg-options', gloo], env=dict(nodes, NODE_RANK=str(rank)),
                           cpu_only=True) for rank in (0, 1)]
    for proc in launches:
        finish_tool(proc)
    infos = []
    for rank in (0, 1):
        with open(probe_dir / f'rank{rank}.json') as f:
            infos.append(json.load(f))
        info = infos[-1]
        assert {k: info[k] for k in ('rank', 'world_size', 'iters', 'wrapper',
                                     'broadcast_buffers')} == dict(
            rank=rank, world_size=2, iters=6, wrapper='CPUDistributedDataParallel',
            broadcast_buffers=False), info
    running = [k for k in infos[0]['final_buffers'] if 'running_' in k]
    assert running  # the head's BatchNorms
    assert infos[0]['final_buffers'] == infos[1]['final_buffers']
    assert infos[0]['val_buffers'] == infos[0]['final_buffers']
    ckpt = os.path.join(work_dir, 'iter_6.pth')
    assert os.path.isfile(ckpt)
    saved = safe_torch_load(ckpt)['state_dict']
    for key in running:
        assert saved[key].flatten().tolist() == infos[0]['final_buffers'][key], key

    single_out, dist_out = str(tmp_path / 'single.json'), str(tmp_path / 'dist.json')
    dump = str(tmp_path / 'preds.pkl')
    run_tool(['tools/test.py', tiny_config, ckpt, '--work-dir', str(tmp_path / 's'),
              '--out', single_out, '--dump', dump], cpu_only=True)
    with open(dump, 'rb') as f:
        dumped = pickle.load(f)
    assert len(dumped) == 5 and dumped[0]['pred_instances']['keypoints'].shape == (1, 10, 2)
    run_tool(['tools/dist_test.sh', tiny_config, ckpt, '2', '--work-dir', str(tmp_path / 'd'),
              '--out', dist_out, '--cfg-options', gloo], env=dict(env, PORT=_free_port()),
             cpu_only=True)
    with open(single_out) as f:
        single = json.load(f)
    with open(dist_out) as f:
        dist = json.load(f)
    assert set(single) == set(dist) and 'MRE_mm' in single
    for key, value in single.items():
        assert abs(dist[key] - value) < 1e-6, (key, value, dist[key])
