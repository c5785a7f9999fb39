"""Landmarks of one radiograph from a trained model, in pixels and millimetres."""
import json
import os
import os.path as osp
from typing import Optional, Sequence, Union

import cv2
import numpy as np
import torch.nn as nn
from mmpose.apis import inference_topdown
from mmpose.registry import DATASETS

from mmpose_medsapiens.datasets.calibration import spacing_xy
from mmpose_medsapiens.datasets.generalist_dataset import GeneralistLayout, MEDSAPIENS_LAYOUT
from mmpose_medsapiens.datasets.image_io import read_header_spacing, read_medical_image
from mmpose_medsapiens.datasets.measurements import (measure, measurement_unit,
                                                     moved_measurements)
from mmpose_medsapiens.datasets.medical_landmark_dataset import MedicalLandmarkDataset


def declared_measurements(dataset_cfg) -> tuple:
    """The resolved measurements a config's dataset declares, in model channels.

    A single landmark set's come from its class (or its ``measurements``
    argument); a generalist's from each source set, moved to the set's block
    and named ``<set>/<name>``. Other datasets declare none.

    Args:
        dataset_cfg (dict): A ``*_dataloader.dataset`` config.
    """
    def of(cfg):
        cls = DATASETS.get(cfg.get('type'))
        if cls is None or not issubclass(cls, MedicalLandmarkDataset):
            return ()
        kwargs = {'measurements': cfg['measurements']} if 'measurements' in cfg else {}
        return cls.for_calibration(**kwargs).resolved_measurements()

    if dataset_cfg.get('type') != 'MedSapiensGeneralistDataset':
        return of(dataset_cfg)
    layout = GeneralistLayout(dataset_cfg.get('layout') or MEDSAPIENS_LAYOUT)
    specs = []
    for source_cfg in dataset_cfg.get('datasets', []):
        key = DATASETS.get(source_cfg['type']).METAINFO['dataset_name']
        specs += moved_measurements(of(source_cfg), layout.offsets[key], prefix=f'{key}/')
    return tuple(specs)


def infer_landmarks(model: nn.Module,
                    image: str,
                    spacing: Optional[Union[float, Sequence[float]]] = None) -> dict:
    """Predict the landmarks of one image with a model from :func:`init_landmark_model`.

    The whole image is the instance box; 8/16-bit PNG/TIFF, BMP, JPEG and
    MetaImage inputs are read (and windowed) as in training.

    Args:
        model (nn.Module): A top-down model from :func:`init_landmark_model` (or
            ``mmpose.apis.init_model``, which refuses checkpoints without base
            weights because it drops the backbone's ``init_cfg``).
        image (str): Image path.
        spacing (float | Sequence[float], optional): Pixel spacing (x, y) in mm;
            when given, landmarks also get ``x_mm`` / ``y_mm``. Without it the
            spacing the file states (DICOM ``PixelSpacing`` /
            ``ImagerPixelSpacing``, MetaImage ``ElementSpacing``) is used.

    Returns:
        dict: ``image``, ``width``, ``height``, ``spacing``, ``spacing_source``
        (``'argument'``, the header tag, or None), ``landmarks``
        (a list of ``name``, ``x``, ``y``, ``score`` and, with a spacing,
        ``x_mm``, ``y_mm``) and ``measurements``: the clinical measurements
        the config's landmark set declares (``name``, ``value``, ``unit``:
        ``mm`` with a spacing, else ``px`` (and angles assume square pixels),
        ``deg`` for angles).
    """
    img = read_medical_image(image)
    sample = inference_topdown(model, img)[0]
    kpts = np.asarray(sample.pred_instances.keypoints)[0]
    scores = np.asarray(sample.pred_instances.keypoint_scores)[0]
    names = (model.dataset_meta or {}).get('keypoint_id2name', {})
    source = 'argument'
    if spacing is None:
        spacing, source = read_header_spacing(image)
    if spacing is not None:
        spacing = spacing_xy(spacing)
    landmarks = []
    for k, ((x, y), score) in enumerate(zip(kpts, scores)):
        item = dict(index=k, name=names.get(k, str(k)), x=float(x), y=float(y),
                    score=float(score))
        if spacing is not None:
            item.update(x_mm=float(x) * spacing[0], y_mm=float(y) * spacing[1])
        landmarks.append(item)
    cfg = getattr(model, 'cfg', None)
    specs = declared_measurements(cfg.test_dataloader.dataset) if cfg is not None else ()
    values = measure(kpts, specs, spacing if spacing is not None else (1.0, 1.0))
    unit = 'mm' if spacing is not None else 'px'
    measurements = [dict(name=m['name'], value=None if np.isnan(values[m['name']])
                         else values[m['name']], unit=measurement_unit(m, specs, unit))
                    for m in specs]
    return dict(image=image, width=int(img.shape[1]), height=int(img.shape[0]),
                spacing=spacing, spacing_source=source if spacing is not None else None,
                landmarks=landmarks, measurements=measurements)


def write_prediction(result: dict, out_dir: str) -> tuple:
    """Write ``<stem>.json`` and an overlay ``<stem>.png`` into ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    stem = osp.splitext(osp.basename(result['image']))[0]
    json_path, png_path = osp.join(out_dir, f'{stem}.json'), osp.join(out_dir, f'{stem}.png')
    with open(json_path, 'w') as f:
        json.dump(result, f, indent=1)
    img = read_medical_image(result['image'])
    radius = max(2, round(max(img.shape[:2]) / 200))
    for item in result['landmarks']:
        center = (int(round(item['x'])), int(round(item['y'])))
        cv2.circle(img, center, radius, (0, 0, 255), -1, cv2.LINE_AA)
        cv2.putText(img, str(item['index']), (center[0] + radius, center[1] - radius),
                    cv2.FONT_HERSHEY_SIMPLEX, radius / 8, (0, 255, 255), 1, cv2.LINE_AA)
    cv2.imwrite(png_path, img)
    return json_path, png_path
