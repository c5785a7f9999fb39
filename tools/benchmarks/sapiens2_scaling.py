"""Compute and memory of each Sapiens2 size in the LoRA landmark recipe, counted on ``meta``.

For every arch, ``configs/sapiens2_lora_head.py``'s model (backbone with its
LoRA, MMPose's HeatmapHead with ``in_channels`` = the arch's width) is built
on the meta device and run once on a (batch, 3, 1024, 768) input:

- parameters, trainable parameters (LoRA + head);
- forward GFLOPs per image (torch's operator counter);
- bytes autograd keeps for the backward pass (fp32, and in a bf16 build,
  which stands for the activations of bf16 autocast), without the
  tokens x tokens attention maps that CUDA's fused attention does not keep;
- a training-memory estimate at the batch: fp32 weights + trainable
  gradients and AdamW moments + kept activations (+ bf16 copies of the
  weights under autocast). Allocator slack, the CUDA context and the
  transient buffers of one layer come on top: leave ~10-15 %.

Usage:
    python tools/benchmarks/sapiens2_scaling.py [--batch 2] [--size 1024 768]
        [--archs sapiens2_0.1b ...] [--json OUT.json]
"""
import argparse
import json
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

import mmpose_medsapiens  # noqa: F401  (registers Sapiens2ViT)
from mmpose_medsapiens.models import SAPIENS2_ARCHS, SapiensViT
from mmpose_medsapiens.utils.model_cost import (forward_flops, parameter_bytes,
                                                saved_activation_bytes)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO_ROOT, 'configs', 'sapiens2_lora_head.py')
GIB = 1024**3


def build(arch: str, dtype: torch.dtype):
    """The LoRA pose model of the head config with ``arch``, on meta."""
    cfg = Config.fromfile(CONFIG)
    init_default_scope('mmpose')
    cfg.model.backbone.update(arch=arch, init_cfg=None)
    width = SAPIENS2_ARCHS[arch]['embed_dims'] if arch in SAPIENS2_ARCHS else \
        SapiensViT.arch_zoo[arch]['embed_dims']
    cfg.model.head.in_channels = width
    if arch not in SAPIENS2_ARCHS:  # the Sapiens 1 row, for comparison
        cfg.model.backbone = dict(type='SapiensViT', arch=arch, img_size=(1024, 768),
                                  lora=dict(targets=dict(qkv=dict(rank=4, alpha=4),
                                                         proj=dict(rank=8, alpha=8))))
    with torch.device('meta'):
        model = MODELS.build(cfg.model).to(dtype)
    return model


def _attention_map(size):
    """Whether a kept tensor is a tokens x tokens attention map.

    On meta, attention runs torch's reference path, which keeps the maps;
    on CUDA the fused (flash / memory-efficient) kernels keep only the
    output and one number per query, so the maps are left out.
    """
    patches = (size[0] // 16) * (size[1] // 16)
    tokens = {patches, patches + 1, patches + 9}  # + class token, + 8 storage tokens

    def is_map(t):
        return t.dim() >= 2 and t.shape[-1] == t.shape[-2] and t.shape[-1] in tokens

    return is_map


def measure(arch: str, batch: int, size) -> dict:
    """Counts of one arch; see the module docstring."""
    row = dict(arch=arch)
    for dtype, tag in ((torch.float32, 'fp32'), (torch.bfloat16, 'bf16')):
        model = build(arch, dtype)
        x = torch.zeros(batch, 3, *size, device='meta', dtype=dtype)

        def forward():
            return model.head(model.backbone(x))

        if tag == 'fp32':
            row['params'] = sum(p.numel() for p in model.parameters())
            row['trainable'] = sum(p.numel() for p in model.parameters() if p.requires_grad)
            row['gflops_per_image'] = forward_flops(forward) / batch / 1e9
            weights = parameter_bytes(model)
            # grads + two AdamW moments of the trainable parameters, fp32.
            optimizer = 3 * parameter_bytes(model, trainable_only=True)
        row[f'activations_{tag}_gib'] = saved_activation_bytes(
            model, forward, skip=_attention_map(size)) / GIB
    row['train_fp32_gib'] = (weights + optimizer) / GIB + row['activations_fp32_gib']
    # Autocast keeps bf16 copies of the weights it casts (half the fp32 bytes).
    row['train_bf16_autocast_gib'] = (1.5 * weights + optimizer) / GIB + \
        row['activations_bf16_gib']
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--size', type=int, nargs=2, default=(1024, 768), metavar=('H', 'W'))
    parser.add_argument('--archs', nargs='+',
                        default=['sapiens_0.3b'] + list(SAPIENS2_ARCHS))
    parser.add_argument('--json', help='also write the rows here')
    args = parser.parse_args(argv)
    rows = [measure(arch, args.batch, tuple(args.size)) for arch in args.archs]
    print(f'LoRA recipe, input {args.size[0]}x{args.size[1]}, batch {args.batch}')
    print(f'{"arch":<15}{"params":>15}{"trainable":>12}{"GFLOPs/img":>12}'
          f'{"act fp32":>10}{"act bf16":>10}{"train fp32":>12}{"train bf16":>12}  (GiB)')
    for r in rows:
        print(f'{r["arch"]:<15}{r["params"]:>15,}{r["trainable"]:>12,}'
              f'{r["gflops_per_image"]:>12.0f}{r["activations_fp32_gib"]:>10.1f}'
              f'{r["activations_bf16_gib"]:>10.1f}{r["train_fp32_gib"]:>12.1f}'
              f'{r["train_bf16_autocast_gib"]:>12.1f}')
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(dict(batch=args.batch, size=list(args.size), rows=rows), f, indent=1)
    return rows


if __name__ == '__main__':
    main()
