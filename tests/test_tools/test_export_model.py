"""tools/export_model.py: merged and adapter-only exports restore the model."""
import os.path as osp

import pytest
import torch
from conftest import run_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmpose.registry import MODELS

from mmpose_medsapiens.utils import safe_torch_load


def _build(cfg_path, **backbone):
    cfg = Config.fromfile(cfg_path)
    init_default_scope('mmpose')
    cfg.model.backbone.update(backbone)
    return MODELS.build(cfg.model)


@pytest.mark.slow
def test_merged_and_adapter_exports(tiny_config, tmp_path):
    torch.manual_seed(0)
    trained = _build(tiny_config)
    for name, p in trained.named_parameters():
        if '.lora_up' in name:
            torch.nn.init.normal_(p, std=0.05)
    # The pretrained backbone the model started from, in the release layout.
    base = {k[len('backbone.'):]: v for k, v in trained.state_dict().items()
            if k.startswith('backbone.') and '.lora_' not in k}
    base_path = str(tmp_path / 'base_pretrain.pth')
    torch.save(base, base_path)
    ckpt = str(tmp_path / 'trained.pth')
    torch.save({'state_dict': trained.state_dict(), 'meta': {}}, ckpt)
    merged, adapter = str(tmp_path / 'merged.pth'), str(tmp_path / 'adapter.pth')
    run_tool(['tools/export_model.py', tiny_config, ckpt, '--merged', merged,
              '--adapter', adapter, '--cfg-options',
              'model.backbone.init_cfg.type=Pretrained',
              f'model.backbone.init_cfg.checkpoint={base_path}'])

    trained.eval()
    x = torch.randn(2, 3, 80, 64)
    expected = trained(x, None, mode='tensor')

    plain = _build(tiny_config, lora=None)
    load_checkpoint(plain, merged, strict=True)
    plain.eval()
    torch.testing.assert_close(plain(x, None, mode='tensor'), expected, atol=1e-5, rtol=0)

    saved = safe_torch_load(adapter)
    assert all('.lora_' in k or not k.startswith('backbone.') for k in saved['state_dict'])
    assert osp.getsize(adapter) < osp.getsize(ckpt) / 2
    restored = _build(tiny_config, init_cfg=dict(type='Pretrained', checkpoint=base_path))
    restored.init_weights()
    load_checkpoint(restored, adapter, strict=False)
    restored.eval()
    torch.testing.assert_close(restored(x, None, mode='tensor'), expected, atol=0, rtol=0)
