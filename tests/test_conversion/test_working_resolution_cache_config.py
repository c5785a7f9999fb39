"""A config's working-resolution cache (:func:`build_cache`) on tiny configs."""
import json
import os
import os.path as osp

import pytest
from conftest import REPO_ROOT, derived_config
from converter_test_utils import run_converter_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS

from mmpose_medsapiens.conversion.working_resolution_cache import (build_cache, cache_summary_lines,
                                                                   pipeline_geometry,
                                                                   split_datasets)
from mmpose_medsapiens.testing import write_blank_landmark_set

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
def test_caches_splits_and_the_printed_options_train_on_it(legs, tmp_path):
    data, cfg = legs
    out = tmp_path / 'cache'
    results = build_cache(Config.fromfile(cfg), str(out), ('train', 'val'))
    printed = '\n'.join(cache_summary_lines(results, str(out)))
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
    line = next(text for text in printed.splitlines() if '--cfg-options' in text)
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
    build_cache(Config.fromfile(cfg), str(out), ('test', ))
    # The 40x60 test image is below the working resolution: kept as it is.
    with open(out / 'leg_coco_test_annotations.json') as f:
        assert json.load(f)['images'][0]['cache_scale'] == [1.0, 1.0]
    with pytest.raises(FileExistsError, match='Refusing to overwrite'):
        build_cache(Config.fromfile(cfg), str(out), ('test', ))
    build_cache(Config.fromfile(cfg), str(out), ('test', ), overwrite=True)
    with pytest.raises(ValueError, match='source data root'):
        build_cache(Config.fromfile(cfg), str(data / 'cache'), ('train', ))
    assert not (data / 'cache').exists()


def test_cfg_options_and_margin_warning(legs, tmp_path, capsys):
    data, cfg = legs
    broken = derived_config(cfg, tmp_path / 'moved.py',
                            train_dataloader=dict(dataset=dict(data_root='/nonexistent/')))
    out = tmp_path / 'cache'
    config = Config.fromfile(broken)
    config.merge_from_dict({'train_dataloader.dataset.data_root': f'{data}/'})
    build_cache(config, str(out), ('train', ), margin=1.05)
    printed = capsys.readouterr().out  # warned before the work
    assert 'warning: the train pipeline zooms in up to 1.11x' in printed
    with open(out / 'leg_coco_train_annotations.json') as f:
        coco = json.load(f)
    assert coco['working_resolution_cache']['margin'] == 1.05
    assert coco['images'][0]['height'] == 68  # ceil(1.05 * 64)


def test_synthetic_config_all_splits(tiny_config, tmp_path):
    out = tmp_path / 'cache'
    results = build_cache(Config.fromfile(tiny_config), str(out))
    counts = {split: entries[0][1]['num_images'] for split, entries in results.items()}
    assert counts == dict(train=16, val=4, test=5)
    # 256x320 images, 64x80 input, margin 1.25: 80x100.
    assert results['train'][0][1]['sizes'] == [(80, 100)]
    printed = '\n'.join(cache_summary_lines(results, str(out)))
    assert 'test_dataloader.dataset.data_root=' in printed


def test_generalist_config_is_expanded_into_its_sources():
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'medsapiens_generalist.py'))
    found = list(split_datasets(cfg.train_dataloader.dataset, 'train_dataloader.dataset'))
    assert [key for _, key in found] == [f'train_dataloader.dataset.datasets.{i}'
                                         for i in range(4)]
    assert [d['type'] for d, _ in found] == ['ISBI2015HeadDataset', 'ChestXrayDataset',
                                             'HandXrayDataset', 'LegXrayDataset']
    geometry = pipeline_geometry(cfg, cfg.train_dataloader.dataset.pipeline)
    # MedSapiens' GetBBoxCenterScale() and RandomBBoxTransform() defaults.
    assert geometry == dict(input_size=(768, 1024), padding=1.25, max_zoom=pytest.approx(2.0))
    assert pipeline_geometry(Config(dict(codec=dict(input_size=(32, 40)))), []) == \
        dict(input_size=(32, 40), padding=1.0, max_zoom=1.0)


@pytest.mark.slow
def test_cache_command_line(legs, tmp_path):
    """--split, --margin and --cfg-options as a user passes them; errors end the run."""
    data, cfg = legs
    broken = derived_config(cfg, tmp_path / 'moved.py',
                            train_dataloader=dict(dataset=dict(data_root='/nonexistent/')))
    args = [broken, 'cache', '--split', 'train', '--margin', '1.05', '--cfg-options',
            f'train_dataloader.dataset.data_root={data}/']
    proc = run_converter_tool('build_working_resolution_cache.py', args, cwd=tmp_path)
    assert 'warning: the train pipeline zooms in up to 1.11x' in proc.stdout
    assert 'train: 2 images, 2 downscaled' in proc.stdout
    assert f'train_dataloader.dataset.data_root={tmp_path / "cache"}/' in proc.stdout
    with open(tmp_path / 'cache' / 'leg_coco_train_annotations.json') as f:
        assert json.load(f)['working_resolution_cache']['margin'] == 1.05
    proc = run_converter_tool('build_working_resolution_cache.py', args, cwd=tmp_path,
                              check=False)
    assert proc.returncode == 1 and 'error: Refusing to overwrite' in proc.stderr
