# CL-Detection 2023 (38 cephalometric landmarks, 3 centres): Sapiens 0.3B pretrain + fresh
# LoRA + HeatmapHead, the MedSapiens recipe. Spacing per image (the challenge JSON).
_base_ = ['./_base_/medsapiens_xray.py']

# Written by tools/dataset_converters/cldetection2023_to_coco.py:
# Images/ + cldetection2023_coco_<split>_annotations.json
data_root = 'data/cldetection2023/'
dataset_type = 'CLDetection2023Dataset'
# The official file, downloaded once into the weights cache (a local path works too).
pretrained_checkpoint = ('https://huggingface.co/facebook/sapiens-pretrain-0.3b/resolve/main/'
                         'sapiens_0.3b_epoch_1600_clean.pth')

model = dict(
    backbone=dict(init_cfg=dict(checkpoint=pretrained_checkpoint)),
    head=dict(out_channels=38))
train_dataloader = dict(dataset=dict(
    type=dataset_type, data_root=data_root, ann_file='cldetection2023_coco_train_annotations.json'))
val_dataloader = dict(dataset=dict(
    type=dataset_type, data_root=data_root, ann_file='cldetection2023_coco_val_annotations.json'))
test_dataloader = dict(dataset=dict(
    type=dataset_type, data_root=data_root, ann_file='cldetection2023_coco_test_annotations.json'))
