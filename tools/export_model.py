"""Export a trained LoRA model: merged weights and/or adapter-only weights.

- ``--merged OUT``: LoRA folded into the base weights; loads into the same
  config with ``model.backbone.lora=None`` and costs exactly a plain ViT.
- ``--adapter OUT``: only the LoRA tensors and the head (a few MB for 0.3B);
  the backbone's pretrained checkpoint (``init_cfg``) plus this file restore
  the trained model exactly.

Usage:
    python tools/export_model.py CONFIG CHECKPOINT [--merged M.pth] [--adapter A.pth]
"""
import argparse
import os.path as osp

import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

# Registers the plugin, so that checkpoint loading is safe (weights-only) even for
# configs that forget custom_imports.
import mmpose_medsapiens  # noqa: F401
from mmpose_medsapiens.models import adapter_state_dict, load_model_checkpoint


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--merged', help='write the merged checkpoint here')
    parser.add_argument('--adapter', help='write the adapter-only checkpoint here')
    parser.add_argument('--overwrite', action='store_true', help='replace existing outputs')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    if not (args.merged or args.adapter):
        parser.error('give --merged and/or --adapter')
    for out in (args.merged, args.adapter):
        if out and osp.exists(out) and not args.overwrite:
            parser.error(f'{out} exists; pass --overwrite to replace it')
    return args


def build_trained_model(cfg, checkpoint):
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    # init_cfg stays: a checkpoint without base weights gets them from it.
    model = MODELS.build(cfg.model)
    ckpt = load_model_checkpoint(model, checkpoint)
    model.eval()
    return model, ckpt.get('meta', {})


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model, meta = build_trained_model(cfg, args.checkpoint)
    meta = dict(meta, exported_from=osp.abspath(args.checkpoint))
    if args.adapter:
        # Plain dicts only: ConfigDict is not among the types that
        # weights-only loading accepts.
        base = cfg.model.backbone.get('init_cfg', None)
        lora = model.backbone.lora_cfg
        torch.save(dict(state_dict=adapter_state_dict(model),
                        meta=dict(meta, format='adapter',
                                  base_init_cfg=base.to_dict() if base else None,
                                  lora=ConfigDict(lora).to_dict() if lora else None)),
                   args.adapter)
        print(f'adapter-only checkpoint: {args.adapter}')
    if args.merged:
        model.backbone.merge_lora()
        torch.save(dict(state_dict=model.state_dict(), meta=dict(meta, format='merged')),
                   args.merged)
        print(f'merged checkpoint (load with model.backbone.lora=None): {args.merged}')


if __name__ == '__main__':
    main()
