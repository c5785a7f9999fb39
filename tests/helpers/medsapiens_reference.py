"""Models and pipelines built exactly as the MedSapiens configs build them.

The values are those of MedSapiens' ``src/pose/configs`` (``lora_med_sapiens/*``
and ``sapiens_pose/*``: the per-set LoRA configs and the full fine-tuning
``med_sapien`` generalist), with stock mmpretrain modules; only the ViT arch
and the input size are shrunk so the models run in milliseconds.
"""
import torch
from mmengine.runner.checkpoint import weights_to_cpu

# A 2-layer ViT in place of sapiens_0.3b (1024 dims, 24 layers, 16 heads, FFN 4096).
TINY_ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
TINY_INPUT = (48, 64)  # (w, h) in place of (768, 1024)
TINY_HEAD_CHANNELS = 16  # in place of 768

# Their codec and pipelines, with the tiny input size.
CODEC = dict(type='UDPHeatmap', input_size=TINY_INPUT,
             heatmap_size=(TINY_INPUT[0] // 4, TINY_INPUT[1] // 4), sigma=3)
TRAIN_PIPELINE = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=CODEC['input_size'], use_udp=True),
    dict(type='PhotometricDistortion'),
    dict(type='Albumentation', transforms=[
        dict(type='Blur', p=0.1),
        dict(type='MedianBlur', p=0.1),
        dict(type='CoarseDropout', max_holes=1, max_height=0.4, max_width=0.4, min_holes=1,
             min_height=0.2, min_width=0.2, p=1.0),
    ]),
    dict(type='GenerateTarget', encoder=CODEC),
    dict(type='PackPoseInputs'),
]
VAL_PIPELINE = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=CODEC['input_size'], use_udp=True),
    dict(type='PackPoseInputs'),
]
OPTIM_WRAPPER = dict(
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.1),
    paramwise_cfg=dict(
        num_layers=24,
        layer_decay_rate=0.85,
        custom_keys={
            'bias': dict(decay_multi=0.0),
            'pos_embed': dict(decay_mult=0.0),
            'relative_position_bias_table': dict(decay_mult=0.0),
            'norm': dict(decay_mult=0.0),
        },
    ),
    constructor='LayerDecayOptimWrapperConstructor',
    clip_grad=dict(max_norm=1., norm_type=2),
)
PARAM_SCHEDULER = [
    dict(type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False),
    dict(type='MultiStepLR', begin=0, end=210, milestones=[170, 200], gamma=0.1, by_epoch=True),
]
TEST_CFG = dict(flip_test=True, flip_mode='heatmap', shift_heatmap=False)


def vit(base_checkpoint):
    """Their ``mmpretrain.VisionTransformer`` settings."""
    return dict(type='mmpretrain.VisionTransformer', arch=TINY_ARCH,
                img_size=(TINY_INPUT[1], TINY_INPUT[0]), patch_size=16, qkv_bias=True,
                final_norm=True, drop_path_rate=0.0, with_cls_token=False, out_type='featmap',
                patch_cfg=dict(padding=2),
                init_cfg=dict(type='Pretrained', checkpoint=base_checkpoint))


def pose_model(num_keypoints, base_checkpoint, lora=True, model_init=None):
    """Their ``TopdownPoseEstimator``: LoRA configs, or the full fine-tuning one."""
    backbone = vit(base_checkpoint)
    if lora:
        backbone = dict(type='mmpretrain.LoRAModel', module=backbone, alpha=4, rank=4,
                        drop_rate=0.1,
                        targets=[dict(type='.*qkv'), dict(type='proj', alpha=8, rank=8)])
    c = TINY_HEAD_CHANNELS
    model = dict(
        type='TopdownPoseEstimator',
        data_preprocessor=dict(type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
        backbone=backbone,
        head=dict(type='HeatmapHead', in_channels=TINY_ARCH['embed_dims'],
                  out_channels=num_keypoints, deconv_out_channels=(c, c),
                  deconv_kernel_sizes=(4, 4), conv_out_channels=(c, c),
                  conv_kernel_sizes=(1, 1),
                  loss=dict(type='KeypointMSELoss', use_target_weight=True), decoder=CODEC),
        test_cfg=TEST_CFG)
    if model_init:
        model['init_cfg'] = dict(type='Pretrained', checkpoint=model_init)
    return model


def write_sapiens_pretrain(path, seed=0):
    """A flat backbone state dict, as the Sapiens pretrain release stores it."""
    from mmpose.registry import MODELS
    torch.manual_seed(seed)
    cfg = vit(None)
    cfg.pop('init_cfg')
    torch.save(MODELS.build(cfg).state_dict(), path)
    return str(path)


def train_and_save(model, path, seed=1):
    """Move every trainable tensor as training would, then save as their runner does.

    MMEngine's runner saves ``{'meta', 'state_dict': weights_to_cpu(model.state_dict()),
    ...}``; with a ``LoRAModel`` backbone its state-dict hook keeps only the
    ``lora_`` tensors of the backbone, plus the head.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            if param.requires_grad:
                param.add_(0.05 * torch.randn(param.shape, generator=gen))
    torch.save({'meta': {'epoch': 199}, 'state_dict': weights_to_cpu(model.state_dict())}, path)
    return str(path)
