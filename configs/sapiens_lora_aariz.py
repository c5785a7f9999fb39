# Aariz (29 cephalometric landmarks, 7 devices): Sapiens 0.3B pretrain + fresh LoRA +
# HeatmapHead, the MedSapiens recipe. Spacing per image (the release CSV).
_base_ = ['./_base_/medsapiens_xray.py']

# Written by tools/dataset_converters/aariz_to_coco.py:
# Images/ + aariz_coco_<split>_annotations.json
data_root = 'data/aariz/'
dataset_type = 'AarizDataset'
# The official file, downloaded once into the weights cache (a local path works too).
pretrained_checkpoint = ('https://huggingface.co/facebook/sapiens-pretrain-0.3b/resolve/main/'
                         'sapiens_0.3b_epoch_1600_clean.pth')

model = dict(
    backbone=dict(init_cfg=dict(checkpoint=pretrained_checkpoint)),
    head=dict(out_channels=29))
train_dataloader = dict(dataset=dict(
    type=dataset_type, data_root=data_root, ann_file='aariz_coco_train_annotations.json'))
val_dataloader = dict(dataset=dict(
    type=dataset_type, data_root=data_root, ann_file='aariz_coco_val_annotations.json'))
test_dataloader = dict(dataset=dict(
    type=dataset_type, data_root=data_root, ann_file='aariz_coco_test_annotations.json'))
