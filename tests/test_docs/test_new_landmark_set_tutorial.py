"""docs/new_landmark_set.md runs as written, on generated DICOMs.

The tutorial's steps are the fenced blocks after a ``<!-- tutorial: NAME -->``
comment. This test writes the names file, the config and the dataset module
as the page shows them, runs the page's converter commands on a few
generated DICOM cephalograms with LabelMe files of the page's 12 landmarks,
builds the datasets from the config and from the module, and (slow) runs
the page's training command (``tools/dist_train.sh``, in a subprocess) and
test command. The converters and ``tools/test.py`` run as ``__main__`` in
this process, which spares the suite their start-up.

What the test changes, and why (nothing else):

- paths: ``my_ceph_raw/``, ``data/my_ceph/``, ``work_dirs/my_ceph``, the
  names file and ``configs/my_ceph/`` are moved into the test's temporary
  folder (the config's ``_base_`` file is copied next to it);
- training: 1 process on the CPU instead of 8 GPUs, and, through extra
  ``--cfg-options``, a 1-layer 32-dim ViT with a small head instead of
  Sapiens 0.3B, no pretrained checkpoint (the 0.3B weights are not
  downloaded in the suite), one epoch, no dataloader worker processes.
"""
import glob
import json
import os
import os.path as osp
import re
import runpy
import shlex
import shutil
import sys

import numpy as np
import pytest
from conftest import REPO_ROOT, run_tool
from helpers.dicom_files import write_dicom
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS

try:  # generated data lives in mmpose_medsapiens.testing
    from mmpose_medsapiens.testing import draw_synthetic_sample
except ImportError:  # older layout
    from mmpose_medsapiens.datasets.synthetic import draw_synthetic_sample

DOC = osp.join(REPO_ROOT, 'docs', 'new_landmark_set.md')
STEP = re.compile(r'<!-- tutorial: (?P<name>[\w-]+) -->\n```(?P<lang>\w+)\n(?P<body>.*?)\n```',
                  re.DOTALL)
NUM_TRAIN, NUM_TEST = 10, 2
SPACING = 0.1  # mm, in each DICOM's PixelSpacing
# The tiny model that stands in for Sapiens 0.3B (and its pretrained weights).
TINY_MODEL = [
    'model.backbone.init_cfg=None',
    'model.backbone.arch._delete_=True', 'model.backbone.arch.embed_dims=32',
    'model.backbone.arch.num_layers=1', 'model.backbone.arch.num_heads=2',
    'model.backbone.arch.feedforward_channels=32',
    'model.head.in_channels=32', 'model.head.deconv_out_channels=[8,8]',
    'model.head.conv_out_channels=[8,8]', 'optim_wrapper.paramwise_cfg.num_layers=1'
]
ONE_PROCESS = [f'{loader}.{key}'
               for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
               for key in ('num_workers=0', 'persistent_workers=False')]


def tutorial_steps():
    with open(DOC, encoding='utf-8') as f:
        text = f.read()
    steps = {m['name']: m['body'] for m in STEP.finditer(text)}
    assert {'names-file', 'convert', 'config', 'dataset-module', 'train', 'test'} <= set(steps)
    return steps


def commands(block, paths):
    """The block's command lines (continuations joined), paths moved, split."""
    for old, new in paths.items():
        block = block.replace(old, new)
    lines = block.replace('\\\n', ' ').splitlines()
    return [shlex.split(line) for line in lines if line.strip()]


def as_tool_args(argv):
    """``python X ...`` / ``bash X ...`` as conftest.run_tool takes it, globs expanded."""
    assert argv[0] in ('python', 'bash'), argv
    args = []
    for arg in argv[1:]:
        matches = sorted(glob.glob(arg)) if '*' in arg else [arg]
        assert matches, f'{arg} matches no file'
        args += matches
    return args


def run_in_process(args):
    """Run ``python TOOL ARGS`` as its ``__main__`` in this process, from the repo root.

    What the command does in a subprocess, without paying for a second import
    of the OpenMMLab stack (tens of seconds on a small, busy CPU machine).
    """
    script = osp.join(REPO_ROOT, args[0])
    old_argv, old_path, old_cwd = sys.argv, list(sys.path), os.getcwd()
    sys.argv = list(args)
    sys.path.insert(0, osp.dirname(script))  # as for a script: its folder first
    os.chdir(REPO_ROOT)
    try:
        runpy.run_path(script, run_name='__main__')
    except SystemExit as e:
        if e.code not in (None, 0):
            raise AssertionError(f'{args} exited with {e.code}') from e
    finally:
        sys.argv, sys.path[:] = old_argv, old_path
        os.chdir(old_cwd)


def ceph_landmarks(names, keypoints):
    """The page's 12 landmarks from the 10 the generator draws (A, B: between them)."""
    drawn = dict(zip(('S', 'N', 'Or', 'Po', 'ANS', 'PNS', 'UIT', 'Me', 'Go', 'Pog'), keypoints))
    drawn['A'] = (drawn['ANS'] + drawn['UIT']) / 2
    drawn['B'] = (drawn['UIT'] + drawn['Pog']) / 2
    return [drawn[name] for name in names]


def write_raw_set(root, names):
    """``train/`` and ``test/`` folders of DICOMs with their LabelMe files."""
    for split, count, first in (('train', NUM_TRAIN, 1), ('test', NUM_TEST, 1 + NUM_TRAIN)):
        folder = root / split
        folder.mkdir(parents=True)
        for n in range(first, first + count):
            image, keypoints = draw_synthetic_sample(n, width=192, height=240)
            stem = f'ceph_{n:03d}'
            write_dicom(folder / f'{stem}.dcm', image.astype(np.uint16) * 16,
                        PixelSpacing=[SPACING, SPACING])
            shapes = [dict(label=name, points=[[float(x), float(y)]], shape_type='point',
                           group_id=None, flags={})
                      for name, (x, y) in zip(names, ceph_landmarks(names, keypoints))]
            (folder / f'{stem}.json').write_text(json.dumps(dict(
                version='5.4.1', flags={}, shapes=shapes, imagePath=f'{stem}.dcm',
                imageData=None, imageHeight=image.shape[0], imageWidth=image.shape[1])))


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    """The page's names file, converter commands and config, on generated data."""
    steps = tutorial_steps()
    tmp = tmp_path_factory.mktemp('tutorial')
    names = steps['names-file'].split()
    assert len(names) == 12
    paths = {'my_ceph_raw/': f'{tmp}/my_ceph_raw/', 'data/my_ceph': f'{tmp}/data/my_ceph',
             'my_ceph_landmarks.txt': f'{tmp}/my_ceph_landmarks.txt',
             'configs/my_ceph/': f'{tmp}/configs/my_ceph/',
             'work_dirs/my_ceph': f'{tmp}/work_dirs/my_ceph'}
    (tmp / 'my_ceph_landmarks.txt').write_text(steps['names-file'] + '\n')
    write_raw_set(tmp / 'my_ceph_raw', names)
    for argv in commands(steps['convert'], paths):
        run_in_process(as_tool_args(argv))

    (tmp / 'configs' / 'my_ceph').mkdir(parents=True)
    shutil.copytree(osp.join(REPO_ROOT, 'configs', '_base_'), tmp / 'configs' / '_base_',
                    ignore=shutil.ignore_patterns('__pycache__'))
    config = tmp / 'configs' / 'my_ceph' / 'sapiens_lora_my_ceph.py'
    body = steps['config']
    for old, new in paths.items():
        body = body.replace(old, new)
    config.write_text(body + '\n')
    return dict(tmp=tmp, names=names, config=str(config), paths=paths, steps=steps)


def test_converted_set_builds_through_the_tutorial_config(converted):
    tmp, names = converted['tmp'], converted['names']
    data = tmp / 'data' / 'my_ceph'
    counts = {}
    for split in ('train', 'val', 'test'):
        with open(data / f'my_ceph_coco_{split}_annotations.json') as f:
            coco = json.load(f)
        counts[split] = len(coco['images'])
        assert coco['categories'][0]['keypoints'] == names
        # The spacing comes from each DICOM's header.
        assert all(img['spacing'] == [SPACING, SPACING] for img in coco['images'])
        assert {img['spacing_source'] for img in coco['images']} == {'PixelSpacing'}
    # 10 % of train drawn as validation (1 of 10), the test files on their own.
    assert counts == dict(train=NUM_TRAIN - 1, val=1, test=NUM_TEST)

    cfg = Config.fromfile(converted['config'])
    assert cfg.model.head.out_channels == 12
    assert cfg.default_hooks.checkpoint.save_best == 'MRE_mm'
    assert cfg.val_evaluator[0].radii == [2.0, 2.5, 3.0, 4.0]
    init_default_scope('mmpose')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = DATASETS.build(cfg[loader].dataset)
        assert dataset.metainfo['dataset_name'] == 'my_ceph'
        assert [dataset.metainfo['keypoint_id2name'][i] for i in range(12)] == names
        assert dataset.metainfo['flip_indices'] == list(range(12))  # lateral: no pairs
        calibration = dataset.get_data_info(0)['calibration']
        assert tuple(calibration['spacing']) == (SPACING, SPACING)
        assert [m['name'] for m in calibration['measurements']] == ['SNA', 'SNB', 'ANB', 'AFH']


def test_dataset_class_of_the_tutorial_builds(converted, monkeypatch):
    """The page's dataset subclass, registered from its own module."""
    tmp = converted['tmp']
    (tmp / 'my_ceph_dataset.py').write_text(converted['steps']['dataset-module'] + '\n')
    monkeypatch.syspath_prepend(str(tmp))
    monkeypatch.delitem(sys.modules, 'my_ceph_dataset', raising=False)
    import my_ceph_dataset
    try:
        init_default_scope('mmpose')
        dataset = DATASETS.build(dict(
            type='MyCephDataset', data_root=str(tmp / 'data' / 'my_ceph'),
            data_prefix=dict(img='Images/'), ann_file='my_ceph_coco_train_annotations.json',
            pipeline=[]))
        assert len(dataset) == NUM_TRAIN - 1
        assert dataset.metainfo['keypoint_id2name'][6] == 'A'
        assert tuple(dataset.get_data_info(0)['calibration']['radii']) == (2.0, 2.5, 3.0, 4.0)
    finally:
        DATASETS.module_dict.pop(my_ceph_dataset.MyCephDataset.__name__, None)


@pytest.mark.slow
def test_tutorial_trains_and_tests(converted):
    steps, paths, tmp = converted['steps'], converted['paths'], converted['tmp']
    env = dict(PYTHON=sys.executable)
    (train, ) = commands(steps['train'], paths)
    assert train[:4] == ['bash', 'tools/dist_train.sh', converted['config'], '8']
    train[3] = '1'  # one CPU process instead of 8 GPUs
    run_tool(as_tool_args(train) + ['--cfg-options', 'train_cfg.max_epochs=1', *TINY_MODEL,
                                    *ONE_PROCESS], timeout=300, env=env, cpu_only=True)
    work_dir = tmp / 'work_dirs' / 'my_ceph'
    # What MMEngine's CheckpointHook writes, as the page says.
    assert (work_dir / 'epoch_1.pth').is_file()
    assert (work_dir / 'best_MRE_mm_epoch_1.pth').is_file()
    assert (work_dir / 'last_checkpoint').read_text().strip().endswith('epoch_1.pth')

    (test, ) = commands(steps['test'], paths)
    run_in_process(as_tool_args(test) + ['--cfg-options', *TINY_MODEL, *ONE_PROCESS])
    with open(work_dir / 'test' / 'metrics.json') as f:
        metrics = json.load(f)
    for key in ('MRE_mm', 'SDR_2mm', 'SDR_2.5mm', 'SDR_4mm', 'SNA_MAE_deg', 'ANB_MAE_deg',
                'AFH_MAE_mm', 'EPE'):
        assert key in metrics, (key, sorted(metrics))
