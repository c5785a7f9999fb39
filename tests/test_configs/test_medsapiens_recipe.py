"""The shipped configs reproduce MedSapiens' recipe and its test inputs.

Expected values are those of MedSapiens' configs (``tests/helpers/
medsapiens_reference.py`` restates them at tiny size; the full-size numbers
are spelled out here).
"""
import copy
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from conftest import REPO_ROOT
from helpers import medsapiens_reference as ref
from helpers.medsapiens_release import write_leg_release
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS

from mmpose_medsapiens.models import SAPIENS_ARCHS

RECIPE_CONFIGS = sorted(
    osp.basename(p) for p in glob.glob(osp.join(REPO_ROOT, 'configs', '*.py'))
    if osp.basename(p).startswith(('medsapiens_', 'sapiens_lora_')))


def _load(name):
    return Config.fromfile(osp.join(REPO_ROOT, 'configs', name))


def _full_size(pipeline):
    """``ref``'s pipeline at the recipe's 768x1024 input."""
    pipeline = copy.deepcopy(pipeline)
    codec = dict(ref.CODEC, input_size=(768, 1024), heatmap_size=(192, 256))
    for t in pipeline:
        if 'input_size' in t:
            t['input_size'] = (768, 1024)
        if 'encoder' in t:
            t['encoder'] = codec
    return pipeline


def _comparable(pipeline):
    """Our steps as MedSapiens writes them: LoadMedicalImage reads what LoadImage
    reads (and more formats); PackPoseInputs also packs ``calibration``."""
    out = []
    for t in pipeline:
        t = Config(t).to_dict() if not isinstance(t, dict) else copy.deepcopy(t)
        if t['type'] == 'LoadMedicalImage':
            t = dict(type='LoadImage')
        if t['type'] == 'PackPoseInputs':
            t = dict(type='PackPoseInputs')
        out.append(Config(t).to_dict())
    return out


def _loader_datasets(loader):
    ds = loader.dataset
    return ds.get('datasets', [ds])


def test_every_recipe_config_is_checked():
    assert len(RECIPE_CONFIGS) >= 11 and 'medsapiens_generalist.py' in RECIPE_CONFIGS


@pytest.mark.parametrize('name', RECIPE_CONFIGS)
def test_recipe_values_equal_medsapiens(name):
    cfg = _load(name)
    assert _comparable(cfg.train_dataloader.dataset.pipeline) == _full_size(ref.TRAIN_PIPELINE)
    for loader in ('val_dataloader', 'test_dataloader'):
        assert _comparable(cfg[loader].dataset.pipeline) == _full_size(ref.VAL_PIPELINE)
        for ds in _loader_datasets(cfg[loader]):
            assert ds.data_prefix == dict(img='Images/')
    codec = dict(type='UDPHeatmap', input_size=(768, 1024), heatmap_size=(192, 256), sigma=3)
    model = cfg.model
    assert model.head.decoder == codec
    assert (model.head.deconv_out_channels, model.head.deconv_kernel_sizes) == ((768, 768), (4, 4))
    assert (model.head.conv_out_channels, model.head.conv_kernel_sizes) == ((768, 768), (1, 1))
    assert model.head.in_channels == 1024
    assert model.head.loss == dict(type='KeypointMSELoss', use_target_weight=True)
    assert model.test_cfg == ref.TEST_CFG
    assert model.data_preprocessor == dict(type='PoseDataPreprocessor',
                                           mean=[123.675, 116.28, 103.53],
                                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True)
    backbone = model.backbone
    assert backbone.type == 'SapiensViT' and backbone.arch == 'sapiens_0.3b'
    assert SAPIENS_ARCHS['sapiens_0.3b'] == dict(embed_dims=1024, num_layers=24, num_heads=16,
                                                 feedforward_channels=4096)
    assert backbone.img_size == (1024, 768) and backbone.drop_path_rate == 0.0
    if name.startswith('medsapiens_generalist'):
        assert backbone.lora is None and model.head.out_channels == 88
    else:  # SapiensViT's default LoRA is MedSapiens': rank/alpha 4 on qkv, 8 on proj.
        assert 'lora' not in backbone or backbone.lora == dict(
            targets=dict(qkv=dict(rank=4, alpha=4), proj=dict(rank=8, alpha=8)), drop_rate=0.1)
    optim = Config(ref.OPTIM_WRAPPER).to_dict()
    assert cfg.optim_wrapper.to_dict() == optim
    assert [Config(s).to_dict() for s in cfg.param_scheduler] == ref.PARAM_SCHEDULER
    assert (cfg.train_cfg.max_epochs, cfg.train_cfg.val_interval) == (210, 1)
    best = cfg.default_hooks.checkpoint
    assert (best.save_best, best.rule) == ('EPE', 'less')
    assert {'type': 'EPE'} in [dict(e) for e in cfg.val_evaluator]


def test_sapiens_vit_defaults_are_the_medsapiens_vit_settings():
    init_default_scope('mmpose')
    from mmpose_medsapiens.models import SapiensViT
    vit = SapiensViT(arch=ref.TINY_ARCH, img_size=(64, 48), lora=None)
    # patch 16 with padding 2, qkv bias, final norm, no class token, featmap out.
    assert vit.patch_embed.projection.padding == (2, 2)
    assert vit.patch_embed.projection.kernel_size == (16, 16)
    assert vit.layers[0].attn.qkv.bias is not None and vit.final_norm
    assert vit.cls_token is None and vit.out_type == 'featmap'


def _textured(root, names, seed=0):
    rng = np.random.default_rng(seed)
    for name in names:
        path = str(root / 'Images' / name)
        h, w = cv2.imread(path, cv2.IMREAD_UNCHANGED).shape[:2]
        cv2.imwrite(path, rng.integers(0, 256, (h, w), dtype=np.uint8))


def test_test_inputs_equal_medsapiens_cocodataset_and_val_pipeline(tmp_path):
    """Same release files: MedSapiens' CocoDataset + val pipeline vs our legs config."""
    images = [(1061, 240, 563), (2070, 308, 703), (1067, 240, 592)]
    ann = write_leg_release(tmp_path, images)
    _textured(tmp_path, [f'Leg_{i}.png' for i, _, _ in images])
    init_default_scope('mmpose')
    theirs = DATASETS.build(dict(
        type='CocoDataset', data_root=str(tmp_path), data_mode='topdown',
        ann_file=osp.basename(ann),
        data_prefix=dict(img='Images/'), test_mode=True, pipeline=ref.VAL_PIPELINE,
        metainfo=dict(dataset_name='legs_xray', keypoint_info={
            i: dict(name=f'K{i}', id=i, color=[255, 0, 0], type='', swap='') for i in range(26)},
            skeleton_info={}, joint_weights=[1.] * 26, sigmas=[0.00237] * 26)))
    cfg = _load('medsapiens_legs.py')
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.update(data_root=str(tmp_path))
    for t in ds_cfg.pipeline:
        if 'input_size' in t:
            t['input_size'] = ref.TINY_INPUT
    ours = DATASETS.build(ds_cfg)
    assert len(ours) == len(theirs) == 3
    for i in range(3):
        a, b = theirs[i], ours[i]
        assert a['data_samples'].img_path == b['data_samples'].img_path
        torch.testing.assert_close(a['inputs'], b['inputs'], rtol=0, atol=0)
        for key in ('input_center', 'input_scale'):
            np.testing.assert_array_equal(a['data_samples'].metainfo[key],
                                          b['data_samples'].metainfo[key])
        np.testing.assert_array_equal(a['data_samples'].gt_instances.keypoints,
                                      b['data_samples'].gt_instances.keypoints)
        assert b['data_samples'].metainfo['flip_indices'] == list(range(26))
