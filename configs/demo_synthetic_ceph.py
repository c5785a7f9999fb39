# Tiny Sapiens-architecture ViT + LoRA + HeatmapHead on the synthetic
# cephalogram-like set drawn by `tools/demo.py`: the whole MedSapiens recipe at a
# size that trains in minutes on a laptop CPU, without any download.
_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['mmpose_medsapiens'], allow_failed_imports=False)
data_mode = 'topdown'  # read by MMPoseInferencer

# ----------------------------------------------------------------- settings
data_root = 'work_dirs/demo/data/'  # written by tools/demo.py
num_keypoints = 10
input_size = (128, 160)  # (w, h), the aspect ratio of the 256x320 images
heatmap_size = (32, 40)  # (w, h) = input / 4, as in Sapiens
embed_dims = 128
max_epochs = 30
batch_size = 16
# Runner checkpoints hold base + LoRA + head; True keeps only LoRA + head
# (the backbone's pretrained init_cfg then restores the rest on load).
save_adapter_only = False

# -------------------------------------------------------------------- model
# UDP, as in the X-ray configs: sub-pixel decoding that stays exact under flips.
codec = dict(type='UDPHeatmap', input_size=input_size, heatmap_size=heatmap_size, sigma=2)

model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='SapiensViT',
        arch=dict(embed_dims=embed_dims, num_layers=4, num_heads=4, feedforward_channels=256),
        img_size=(input_size[1], input_size[0]),  # (h, w)
        drop_path_rate=0.0,
        lora=dict(targets=dict(qkv=dict(rank=16, alpha=16), proj=dict(rank=16, alpha=16)),
                  drop_rate=0.0)),
    head=dict(
        type='HeatmapHead',
        in_channels=embed_dims,
        out_channels=num_keypoints,
        deconv_out_channels=(64, 64),
        deconv_kernel_sizes=(4, 4),
        conv_out_channels=(64, ),
        conv_kernel_sizes=(1, ),
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=False))

# --------------------------------------------------------------------- data
meta_keys = ('id', 'img_id', 'img_path', 'category_id', 'crowd_index', 'ori_shape',
             'img_shape', 'input_size', 'input_center', 'input_scale', 'flip',
             'flip_direction', 'flip_indices', 'raw_ann_info', 'dataset_name',
             'calibration')
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.0),  # whole-image boxes: no margin
    dict(type='RandomBBoxTransform', shift_factor=0.05, scale_factor=(0.9, 1.1),
         rotate_factor=10.0),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.0),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
dataset_type = 'SyntheticCephDataset'
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='annotations/train.json',
                 data_prefix=dict(img=''), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='annotations/val.json',
                 data_prefix=dict(img=''), test_mode=True, pipeline=val_pipeline))
test_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='annotations/test.json',
                 data_prefix=dict(img=''), test_mode=True, pipeline=val_pipeline))
val_evaluator = dict(type='MedicalLandmarkMetric', radii=(2, 2.5, 3, 4))
test_evaluator = val_evaluator

# ----------------------------------------------------------------- schedule
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.01),
                     clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.01, by_epoch=False),
    dict(type='CosineAnnealingLR', begin=0, end=max_epochs, T_max=max_epochs,
         eta_min_ratio=0.02, by_epoch=True, convert_to_iter_based=True),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=1,
                    save_best='MRE_mm', rule='less'))
custom_hooks = [
    dict(type='ParameterCountHook'),
    dict(type='AdapterCheckpointHook', adapter_only=save_adapter_only),
    # load_from / --resume / test checkpoints must fill every tensor of the model.
    dict(type='StrictLoadHook'),
]
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
randomness = dict(seed=0)
