"""Helpers shared by the reader tests (``test_readers_*.py``) and the tool tests.

Not a ``conftest.py``: the suite's test modules import ``conftest`` by name,
and pytest keeps one module of that name at a time.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
from conftest import REPO_ROOT

CONVERTERS_DIR = osp.join(REPO_ROOT, 'tools', 'dataset_converters')


def read_json(path):
    with open(path) as f:
        return json.load(f)


def keypoints_xyv(ann):
    """An annotation's keypoints as ``(K, 3)`` rows ``x, y, visibility``."""
    return np.array(ann['keypoints'], dtype=float).reshape(-1, 3)


def write_image(path, width, height, value=80):
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(str(path), np.full((height, width), value, np.uint8))


def config_datasets(config, data_root):
    """The config's train/val/test datasets with only ``data_root`` changed."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', config))
    init_default_scope('mmpose')
    built = {}
    for split in ('train', 'val', 'test'):
        ds_cfg = cfg[f'{split}_dataloader'].dataset
        ds_cfg.data_root = str(data_root)
        built[split] = DATASETS.build(ds_cfg)
    return built


def assert_release_layout(out, set_name, config):
    """Every split file is where ``config`` reads it and every image resolves."""
    datasets = config_datasets(config, out)
    for split, ds in datasets.items():
        assert ds.ann_file == osp.join(str(out), f'{set_name}_coco_{split}_annotations.json')
        for i in range(len(ds)):
            path = ds.get_data_info(i)['img_path']
            assert osp.dirname(path) == osp.join(str(out), 'Images') and osp.isfile(path)
        assert ds[0]['inputs'].ndim == 3  # loads through the config's pipeline
    return datasets


def run_converter_tool(script, args, cwd, check=True, timeout=600):
    """Run ``tools/dataset_converters/<script>`` in a fresh interpreter, as a user does.

    Args:
        script (str): File name, e.g. ``'isbi2015_to_coco.py'``.
        args (Sequence): Command-line arguments (``str()`` is applied).
        cwd (str | Path): Working folder; relative paths in ``args`` start there.
        check (bool): Fail unless the tool exits 0. Defaults to True.
        timeout (float): Seconds. Defaults to 600.

    Returns:
        subprocess.CompletedProcess: With ``stdout`` and ``stderr`` as text.
    """
    env = dict(os.environ)
    env.setdefault('OMP_NUM_THREADS', '1')
    command = [sys.executable, osp.join(CONVERTERS_DIR, script), *map(str, args)]
    proc = subprocess.run(command, cwd=str(cwd), env=env, timeout=timeout, capture_output=True,
                          text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f'{script} {args} exited {proc.returncode}\n--- stdout\n'
                             f'{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-6000:]}')
    return proc
