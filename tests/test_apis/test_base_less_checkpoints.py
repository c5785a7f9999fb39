"""Checkpoints without base weights through every inference entry point.

Two kinds exist: a MedSapiens LoRA release (mmpretrain ``LoRAModel`` keeps
only ``backbone.module.*.lora_*`` tensors, plus the head) and our adapter-only
checkpoints. Each must run on the base of the config's backbone ``init_cfg``
through ``init_landmark_model`` + ``infer_landmarks``, ``tools/infer.py`` and
``MMPoseInferencer``, or be refused with an error naming what is missing
(``mmpose.apis.init_model`` drops ``init_cfg``).
"""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from conftest import derived_config, run_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from mmpose_medsapiens.apis import infer_landmarks, init_landmark_model
from mmpose_medsapiens.models import IncompleteCheckpointError, adapter_state_dict

KINDS = ('medsapiens_lora', 'adapter_only')


@pytest.fixture(scope='module')
def trained(tiny_config, tmp_path_factory):
    """A 'trained' tiny LoRA model, its base checkpoint, its full checkpoint and
    a config whose backbone starts from that base."""
    root = tmp_path_factory.mktemp('baseless')
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(tiny_config).model)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if '.lora_up' in name:
                p.normal_(std=0.2)
    base = str(root / 'sapiens_base.pth')
    torch.save({k: v for k, v in model.backbone.state_dict().items() if '.lora_' not in k}, base)
    full = str(root / 'full.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, full)
    cfg = derived_config(tiny_config, root / 'with_base.py', model=dict(
        backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=base))))
    return dict(model=model, base=base, full=full, config=cfg, root=root)


def _checkpoint(trained, kind):
    path = str(trained['root'] / f'{kind}.pth')
    if kind == 'adapter_only':
        state, meta = adapter_state_dict(trained['model']), {'adapter_only': True}
    else:  # LoRAModel's layout: backbone.module.<name>, only lora_ tensors
        state = {(f'backbone.module.{k[len("backbone."):]}' if k.startswith('backbone.') else k): v
                 for k, v in trained['model'].state_dict().items()
                 if not k.startswith('backbone.') or '.lora_' in k}
        meta = {'epoch': 199}
    assert not any(k.startswith('backbone.') and '.lora_' not in k for k in state)
    torch.save({'state_dict': state, 'meta': meta}, path)
    return path


def _image(synthetic_data):
    folder = osp.join(synthetic_data, 'Images')
    return osp.join(folder, sorted(os.listdir(folder))[0])


def _xy(result):
    return np.array([[p['x'], p['y']] for p in result['landmarks']])


@pytest.fixture(scope='module')
def expected(trained, synthetic_data):
    model = init_landmark_model(trained['config'], trained['full'], device='cpu')
    return _xy(infer_landmarks(model, _image(synthetic_data)))


@pytest.mark.parametrize('kind', KINDS)
def test_init_landmark_model_restores_the_base(kind, trained, expected, synthetic_data):
    model = init_landmark_model(trained['config'], _checkpoint(trained, kind), device='cpu')
    for key, value in trained['model'].state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, rtol=0, atol=0, msg=key)
    np.testing.assert_allclose(_xy(infer_landmarks(model, _image(synthetic_data))), expected,
                               rtol=0, atol=1e-4)


@pytest.mark.parametrize('kind', KINDS)
def test_stock_init_model_refuses_instead_of_a_random_backbone(kind, trained):
    from mmpose.apis import init_model
    with pytest.raises(IncompleteCheckpointError, match='only the LoRA adapters.*init_cfg'):
        init_model(trained['config'], _checkpoint(trained, kind), device='cpu')


@pytest.mark.parametrize('kind', KINDS)
def test_without_a_base_in_the_config_is_an_error(kind, trained, tiny_config):
    # The demo config's backbone has no pretrained init_cfg.
    with pytest.raises(IncompleteCheckpointError, match='pos_embed'):
        init_landmark_model(tiny_config, _checkpoint(trained, kind), device='cpu')


@pytest.mark.parametrize('kind', KINDS)
def test_mmpose_inferencer_restores_the_base(kind, trained, expected, synthetic_data):
    from mmpose.apis import MMPoseInferencer
    inferencer = MMPoseInferencer(pose2d=trained['config'],
                                  pose2d_weights=_checkpoint(trained, kind),
                                  det_model='whole_image', device='cpu')
    result = next(inferencer(_image(synthetic_data), return_vis=False))
    np.testing.assert_allclose(np.asarray(result['predictions'][0][0]['keypoints']), expected,
                               rtol=0, atol=1e-3)


@pytest.mark.slow
def test_infer_cli_with_both_kinds(trained, synthetic_data, tmp_path):
    image = _image(synthetic_data)
    stem = osp.splitext(osp.basename(image))[0]
    results = {}
    # The full checkpoint is the reference in the same process setting (the
    # CLI runs single-threaded: an untrained model's flat heatmaps move by
    # ~0.1 px with the thread count).
    for kind in ('full', ) + KINDS:
        out = tmp_path / kind
        ckpt = trained['full'] if kind == 'full' else _checkpoint(trained, kind)
        run_tool(['tools/infer.py', image, '--config', trained['config'], '--checkpoint', ckpt,
                  '--out-dir', str(out)])
        with open(out / f'{stem}.json') as f:
            results[kind] = _xy(json.load(f))
    for kind in KINDS:
        np.testing.assert_allclose(results[kind], results['full'], rtol=0, atol=1e-4)
