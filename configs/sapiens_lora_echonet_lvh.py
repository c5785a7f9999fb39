# EchoNet-LVH (4 PLAX landmarks at end-diastole): Sapiens 0.3B pretrain + fresh LoRA +
# HeatmapHead, the MedSapiens recipe as for the X-ray sets (portrait 768x1024 input; echo
# frames are landscape and get padded). The metric adds IVSd/LVIDd/LVPWd errors in mm.
_base_ = ['./_base_/medsapiens_xray.py']

# Written by tools/dataset_converters/echonet_lvh_to_coco.py:
# Images/ + echonet_lvh_coco_<split>_annotations.json
data_root = 'data/echonet_lvh/'
dataset_type = 'EchoNetLVHDataset'
# The official file, downloaded once into the weights cache (a local path works too).
pretrained_checkpoint = ('https://huggingface.co/facebook/sapiens-pretrain-0.3b/resolve/main/'
                         'sapiens_0.3b_epoch_1600_clean.pth')

model = dict(
    backbone=dict(init_cfg=dict(checkpoint=pretrained_checkpoint)),
    head=dict(out_channels=4))
train_dataloader = dict(dataset=dict(
    type=dataset_type, data_root=data_root, ann_file='echonet_lvh_coco_train_annotations.json'))
val_dataloader = dict(dataset=dict(
    type=dataset_type, data_root=data_root, ann_file='echonet_lvh_coco_val_annotations.json'))
test_dataloader = dict(dataset=dict(
    type=dataset_type, data_root=data_root, ann_file='echonet_lvh_coco_test_annotations.json'))
