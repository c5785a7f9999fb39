# MedSapiens recipe for whole-image X-ray landmark detection (Sapiens 0.3B + LoRA +
# HeatmapHead), shared by the per-dataset configs. Children set the dataset
# (type, data root, annotation files), the number of landmarks and the checkpoint.
_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['mmpose_medsapiens'], allow_failed_imports=False)
data_mode = 'topdown'  # read by MMPoseInferencer

# ----------------------------------------------------------------- settings
arch = 'sapiens_0.3b'
num_layers = 24
embed_dims = 1024
input_size = (768, 1024)  # (w, h)
heatmap_size = (192, 256)  # (w, h)
max_epochs = 210
# Checkpoint the backbone starts from: the Sapiens pretrain release here,
# the generalist MedSapiens model in the medsapiens_* configs.
# The official file, downloaded once into the weights cache (a local path works too).
pretrained_checkpoint = ('https://huggingface.co/facebook/sapiens-pretrain-0.3b/resolve/main/'
                         'sapiens_0.3b_epoch_1600_clean.pth')
save_adapter_only = False
meta_keys = ('id', 'img_id', 'img_path', 'category_id', 'crowd_index', 'ori_shape',
             'img_shape', 'input_size', 'input_center', 'input_scale', 'flip',
             'flip_direction', 'flip_indices', 'raw_ann_info', 'dataset_name',
             'calibration')

# -------------------------------------------------------------------- model
# UDP (unbiased data processing), as MedSapiens trains: heatmap pixel j sits at
# input x = j * (input_w - 1) / (heatmap_w - 1), so a mirrored heatmap is the
# heatmap of the mirrored image and the flip test adds no bias. With MSRA the
# flip test shifts every x by -1.5 input px (0.38 mm on a cephalogram, 1.3 mm on
# a full-leg film) even with DARK decoding; plain MSRA argmax costs ~0.39 mm
# without any flip (tools/benchmarks/decoding_precision.py).
codec = dict(type='UDPHeatmap', input_size=input_size, heatmap_size=heatmap_size, sigma=3)
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='SapiensViT',
        arch=arch,
        img_size=(input_size[1], input_size[0]),  # (h, w)
        drop_path_rate=0.0,
        lora=dict(targets=dict(qkv=dict(rank=4, alpha=4), proj=dict(rank=8, alpha=8)),
                  drop_rate=0.1),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained_checkpoint)),
    head=dict(
        type='HeatmapHead',
        in_channels=embed_dims,
        out_channels=19,
        deconv_out_channels=(768, 768),
        deconv_kernel_sizes=(4, 4),
        conv_out_channels=(768, 768),  # two 1x1 convs, as every MedSapiens config
        conv_kernel_sizes=(1, 1),
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    # shift_heatmap must stay False with UDP (True moves x by +2 input px).
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=False))

# --------------------------------------------------------------------- data
# MedSapiens' pipelines (lora_med_sapiens/*, sapiens_pose/* configs): the whole
# image is the box, enlarged by GetBBoxCenterScale's default padding 1.25 in
# training *and* testing, so a released model sees test images at the scale it
# was trained at; RandomBBoxTransform with its defaults (shift 0.16, scale
# 0.5-1.5, rotation up to 80 degrees); flips keep labels unless the dataset
# declares swap pairs. tests/test_configs/test_medsapiens_recipe.py checks
# these values against the ones read from the MedSapiens configs.
train_pipeline = [
    dict(type='LoadMedicalImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    dict(type='PhotometricDistortion'),
    dict(
        type='Albumentation',
        transforms=[
            dict(type='Blur', p=0.1),
            dict(type='MedianBlur', p=0.1),
            # One hole of 20-40 % of each side, always.
            dict(type='CoarseDropout', max_holes=1, max_height=0.4, max_width=0.4,
                 min_holes=1, min_height=0.2, min_width=0.2, p=1.0),
        ]),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
val_pipeline = [
    dict(type='LoadMedicalImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
# Release layout: <data_root>/Images/<file_name> next to <set>_coco_<split>_annotations.json.
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(data_prefix=dict(img='Images/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(data_prefix=dict(img='Images/'), test_mode=True, pipeline=val_pipeline))
test_dataloader = val_dataloader
# MRE/SDR in each dataset's unit and protocol radii (carried by its samples),
# plus MMPose's EPE (mean error in original-image pixels), which MedSapiens
# validates and picks its best checkpoint by.
val_evaluator = [dict(type='MedicalLandmarkMetric'), dict(type='EPE')]
test_evaluator = val_evaluator

# ----------------------------------------------------------------- schedule
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.1),
    # MMPose's LayerDecayOptimWrapperConstructor reads num_layers and
    # layer_decay_rate; it never reads custom_keys and instead exempts every
    # 1-D tensor (biases, norms) and pos_embed from weight decay, which is
    # what these keys ask for. They are kept as MedSapiens writes them
    # ('decay_multi' included) so the values compare one to one.
    paramwise_cfg=dict(
        num_layers=num_layers,
        layer_decay_rate=0.85,
        custom_keys={
            'bias': dict(decay_multi=0.0),
            'pos_embed': dict(decay_mult=0.0),
            'relative_position_bias_table': dict(decay_mult=0.0),
            'norm': dict(decay_mult=0.0),
        }),
    constructor='LayerDecayOptimWrapperConstructor',
    clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=500, start_factor=1e-3, by_epoch=False),
    dict(type='MultiStepLR', begin=0, end=max_epochs, milestones=[170, 200], gamma=0.1,
         by_epoch=True),
]
# The recipe's global batch: 2 images x 4 GPUs, as MedSapiens trains. On another
# number of GPUs tools/train.py says so; --auto-scale-lr scales the learning rate
# linearly, train_dataloader.batch_size keeps the global batch (8 GPUs: 1).
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=2,
                    save_best='EPE', rule='less'))
# A list replaces the parent's: MMPose's default SyncBuffersHook is restated here
# (as its per-iteration form), else BatchNorm statistics differ between ranks.
custom_hooks = [
    dict(type='SyncBuffersEveryIterHook'),
    dict(type='ParameterCountHook'),
    dict(type='AdapterCheckpointHook', adapter_only=save_adapter_only),
    # load_from / --resume / test checkpoints must fill every tensor of the model.
    dict(type='StrictLoadHook'),
]
randomness = dict(seed=0)
# Merged into MMPose's env_cfg: float32 matmuls and convolutions on TF32 tensor
# cores on Ampere and later GPUs (tools/train.py and tools/test.py apply it).
env_cfg = dict(allow_tf32=True)
