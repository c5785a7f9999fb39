"""tools/dataset_converters/build_working_resolution_cache.py on tiny configs."""
import json
import os
import os.path as osp
import runpy
import sys

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from conftest import REPO_ROOT, derived_config, load_tool
from mmpose_medsapiens.testing import write_blank_landmark_set
from mmpose.registry import DATASETS

SCRIPT = osp.join(REPO_ROOT, 'tools', 'dataset_converters', 'build_working_resolution_cache.py')
LEGS = osp.join(REPO_ROOT, 'configs', 'medsapiens_legs.py')
INPUT = (48, 64)
CODEC = dict(type='MSRAHeatmap', input_size=INPUT, heatmap_size=(12, 16), sigma=2)
META_KEYS = ('img_id', 'img_path', 'input_center', 'input_scale', 'flip', 'calibration')
TRAIN_PIPELINE = [
    dict(type='LoadMedicalImage'),
    dict(type='GetBBoxCenterScale', padding=1.0),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', shift_factor=0.05, scale_factor=(0.9, 1.1),
         rotate_factor=10.0),
    dict(type='TopdownAffine', input_size=INPUT),
    dict(type='GenerateTarget', encoder=CODEC),
    dict(type='PackPoseInputs', meta_keys=META_KEYS),
]
VAL_PIPELINE = [TRAIN_PIPELINE[i] for i in (0, 1, 4, 6)]


def _load_tool():
    return load_tool('dataset_converters/build_working_resolution_cache.py')


tool = _load_tool()


def _leg_split(root, split, sizes, spacing):
    """A leg split in the release layout: ids unique across splits, names
    without a folder, leg_meta_json/<id>_meta.json holding that ID."""
    ann = write_blank_landmark_set(root, 26, sizes, ann_name=f'leg_coco_{split}_annotations.json')
    with open(ann) as f:
        coco = json.load(f)
    (root / 'leg_meta_json').mkdir(exist_ok=True)
    offset = {'train': 100, 'val': 200, 'test': 300}[split]
    for img, annotation in zip(coco['images'], coco['annotations']):
        stem = f'{split}_{img["id"]}'
        os.replace(root / 'Images' / img['file_name'], root / 'Images' / f'{stem}.png')
        img['file_name'] = f'{stem}.png'
        img['id'] = annotation['image_id'] = offset + img['id']
        (root / 'leg_meta_json' / f'{img["id"]}_meta.json').write_text(
            json.dumps(dict(ID=str(img['id']), spacing=list(spacing))))
    with open(ann, 'w') as f:
        json.dump(coco, f)


@pytest.fixture
def legs(tmp_path):
    """Leg data (train 2, val 1, test 1 images) and a config reading it."""
    data = tmp_path / 'data'
    _leg_split(data, 'train', [(120, 280), (110, 260)], (0.139, 0.155))
    _leg_split(data, 'val', [(100, 240)], (0.15, 0.15))
    _leg_split(data, 'test', [(40, 60)], (0.15, 0.15))
    root = str(data) + '/'
    cfg = derived_config(
        LEGS, tmp_path / 'legs_tiny.py', codec=CODEC,
        train_dataloader=dict(dataset=dict(data_root=root, pipeline=TRAIN_PIPELINE)),
        val_dataloader=dict(dataset=dict(data_root=root, pipeline=VAL_PIPELINE)),
        test_dataloader=dict(dataset=dict(data_root=root, pipeline=VAL_PIPELINE)))
    return data, cfg


@pytest.mark.slow
def test_caches_splits_and_the_printed_options_train_on_it(legs, tmp_path, capsys):
    data, cfg = legs
    out = tmp_path / 'cache'
    results = tool.main([cfg, str(out), '--split', 'train', 'val'])
    printed = capsys.readouterr().out
    assert set(results) == {'train', 'val'}
    assert 'train: 2 images, 2 downscaled' in printed and 'val: 1 images' in printed
    assert (out / 'leg_coco_train_annotations.json').is_file()
    assert not (out / 'leg_coco_test_annotations.json').exists()
    assert sorted(os.listdir(out / 'Images')) == ['train_1.png', 'train_2.png', 'val_1.png']
    assert not (out / 'leg_meta_json').exists()  # spacing now lives in the JSON
    with open(out / 'leg_coco_train_annotations.json') as f:
        entry = json.load(f)['images'][0]
    sx, sy = entry['cache_scale']
    assert entry['spacing'] == pytest.approx([0.155 / sx, 0.139 / sy], rel=1e-12)
    assert (entry['width'], entry['height']) == (35, 80)  # 1.25 * 64 / 280 of 120x280

    # The printed --cfg-options point the config at the cache: it trains.
    line = next(l for l in printed.splitlines() if '--cfg-options' in l)
    options = dict(kv.split('=', 1) for kv in line.split('--cfg-options')[1].split())
    assert set(options) == {'train_dataloader.dataset.data_root',
                            'val_dataloader.dataset.data_root'}
    config = Config.fromfile(cfg)
    config.merge_from_dict(options)
    init_default_scope('mmpose')
    dataset = DATASETS.build(config.train_dataloader.dataset)
    sample = dataset[1]
    assert tuple(sample['inputs'].shape) == (3, INPUT[1], INPUT[0])
    assert sample['data_samples'].metainfo['img_path'].startswith(str(out))


def test_refuses_existing_files_and_the_source_root(legs, tmp_path):
    data, cfg = legs
    out = tmp_path / 'cache'
    tool.main([cfg, str(out), '--split', 'test'])
    # The 40x60 test image is below the working resolution: kept as it is.
    with open(out / 'leg_coco_test_annotations.json') as f:
        assert json.load(f)['images'][0]['cache_scale'] == [1.0, 1.0]
    with pytest.raises(SystemExit, match='Refusing to overwrite'):
        tool.main([cfg, str(out), '--split', 'test'])
    tool.main([cfg, str(out), '--split', 'test', '--overwrite'])
    with pytest.raises(SystemExit, match='source data root'):
        tool.main([cfg, str(data / 'cache'), '--split', 'train'])
    assert not (data / 'cache').exists()


def test_cfg_options_and_margin_warning(legs, tmp_path, capsys):
    data, cfg = legs
    broken = derived_config(cfg, tmp_path / 'moved.py',
                            train_dataloader=dict(dataset=dict(data_root='/nonexistent/')))
    out = tmp_path / 'cache'
    tool.main([broken, str(out), '--split', 'train', '--margin', '1.05', '--cfg-options',
               f'train_dataloader.dataset.data_root={data}/'])
    printed = capsys.readouterr().out
    assert 'warning: the train pipeline zooms in up to 1.11x' in printed
    with open(out / 'leg_coco_train_annotations.json') as f:
        coco = json.load(f)
    assert coco['working_resolution_cache']['margin'] == 1.05
    assert coco['images'][0]['height'] == 68  # ceil(1.05 * 64)


def test_synthetic_config_all_splits(tiny_config, tmp_path, capsys):
    out = tmp_path / 'cache'
    results = tool.main([tiny_config, str(out)])
    counts = {split: entries[0][1]['num_images'] for split, entries in results.items()}
    assert counts == dict(train=16, val=4, test=5)
    # 256x320 images, 64x80 input, margin 1.25: 80x100.
    assert results['train'][0][1]['sizes'] == [(80, 100)]
    assert 'test_dataloader.dataset.data_root=' in capsys.readouterr().out


def test_generalist_config_is_expanded_into_its_sources():
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'medsapiens_generalist.py'))
    found = list(tool.split_datasets(cfg.train_dataloader.dataset, 'train_dataloader.dataset'))
    assert [key for _, key in found] == [f'train_dataloader.dataset.datasets.{i}'
                                         for i in range(4)]
    assert [d['type'] for d, _ in found] == ['ISBI2015HeadDataset', 'ChestXrayDataset',
                                             'HandXrayDataset', 'LegXrayDataset']
    geometry = tool.pipeline_geometry(cfg, cfg.train_dataloader.dataset.pipeline)
    # MedSapiens' GetBBoxCenterScale() and RandomBBoxTransform() defaults.
    assert geometry == dict(input_size=(768, 1024), padding=1.25, max_zoom=pytest.approx(2.0))
    assert tool.pipeline_geometry(Config(dict(codec=dict(input_size=(32, 40)))), []) == \
        dict(input_size=(32, 40), padding=1.0, max_zoom=1.0)


def test_script_puts_the_repo_first_on_sys_path(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, 'path', [p for p in sys.path if p != REPO_ROOT])
    monkeypatch.setattr(sys, 'argv', ['build_working_resolution_cache.py', '--help'])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(SCRIPT, run_name='__main__')
    assert exit_info.value.code == 0 and sys.path[0] == REPO_ROOT
    assert 'usage:' in capsys.readouterr().out
