# Full-leg radiographs (MedSapiens, 26 landmarks): Sapiens 0.3B pretrain + fresh LoRA
# + HeatmapHead.
_base_ = ['./_base_/medsapiens_xray.py']

# Data in the MedSapiens release layout: Images/ + leg_coco_<split>_annotations.json
data_root = 'data/medsapiens/'
dataset_type = 'LegXrayDataset'
# The official file, downloaded once into the weights cache (a local path works too).
pretrained_checkpoint = ('https://huggingface.co/facebook/sapiens-pretrain-0.3b/resolve/main/'
                         'sapiens_0.3b_epoch_1600_clean.pth')

model = dict(
    backbone=dict(init_cfg=dict(checkpoint=pretrained_checkpoint)),
    head=dict(out_channels=26))
train_dataloader = dict(dataset=dict(
    type=dataset_type, data_root=data_root, ann_file='leg_coco_train_annotations.json'))
val_dataloader = dict(dataset=dict(
    type=dataset_type, data_root=data_root, ann_file='leg_coco_val_annotations.json'))
test_dataloader = dict(dataset=dict(
    type=dataset_type, data_root=data_root, ann_file='leg_coco_test_annotations.json'))
