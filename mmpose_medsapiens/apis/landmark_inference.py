"""Landmarks of one radiograph from a trained model, in pixels and millimetres."""
import json
import os
import os.path as osp
from typing import Optional, Sequence, Union

import cv2
import numpy as np
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmpose.apis import inference_topdown
from mmpose.registry import DATASETS

from mmpose_medsapiens.datasets.base.medical_landmark_dataset import MedicalLandmarkDataset
from mmpose_medsapiens.datasets.generalist_dataset import MEDSAPIENS_LAYOUT, GeneralistLayout
from mmpose_medsapiens.deploy import model_fingerprint, to_image_coordinates
from mmpose_medsapiens.evaluation.functional import (ConformalCalibration, predicted_heatmap_spread,
                                                     spread_in_image_pixels)
from mmpose_medsapiens.evaluation.functional.calibration import spacing_xy
from mmpose_medsapiens.evaluation.functional.measurements import (measure, measurement_unit,
                                                                  moved_measurements)
from mmpose_medsapiens.evaluation.uncertainty_calibration import heatmaps_in_predictions
from mmpose_medsapiens.fileio.image_reader import read_header_spacing, read_medical_image


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
                    spacing: Optional[Union[float, Sequence[float]]] = None,
                    uncertainty: Optional[ConformalCalibration] = None) -> dict:
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
        uncertainty (ConformalCalibration, optional): The model's calibration
            (:meth:`ConformalCalibration.load`); checked against the model.
            Each landmark then also gets ``spread_px`` (heatmap spread in
            image pixels), ``radius_px`` (``radius_mm`` with a spacing): the
            radius that holds the landmark with the calibrated coverage, and
            ``outside_validation``: True when the spread exceeds every spread
            of that landmark on the validation split.

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
    names = (model.dataset_meta or {}).get('keypoint_id2name', {})
    names = [names.get(k, str(k)) for k in range(model.head.out_channels)]
    if uncertainty is not None:
        uncertainty.check_model(model_fingerprint(model), names)
    with heatmaps_in_predictions(model, enabled=uncertainty is not None):
        sample = inference_topdown(model, img)[0]
    kpts = np.asarray(sample.pred_instances.keypoints)[0]
    scores = np.asarray(sample.pred_instances.keypoint_scores)[0]
    spread = None if uncertainty is None else predicted_heatmap_spread(
        sample.pred_fields.heatmaps, sample.metainfo['input_scale'])
    cfg = getattr(model, 'cfg', None)
    specs = declared_measurements(cfg.test_dataloader.dataset) if cfg is not None else ()
    return landmark_result(image, img, kpts, scores, names, specs, spacing, spread, uncertainty)


def infer_landmarks_onnx(onnx_model, config: Union[str, Config], image: str,
                         spacing: Optional[Union[float, Sequence[float]]] = None,
                         uncertainty: Optional[ConformalCalibration] = None) -> dict:
    """:func:`infer_landmarks` with an exported model run by onnxruntime.

    The image is read and cropped by the config's test pipeline (as
    ``inference_topdown`` does, the whole image being the box); the ONNX
    graph does the rest and :func:`to_image_coordinates` maps its landmarks
    back to the image.

    Args:
        onnx_model (OnnxLandmarkModel): The exported model.
        config (str | Config): The config the model was trained with.
        image (str): Image path.
        spacing (float | Sequence[float], optional): As in :func:`infer_landmarks`.
        uncertainty (ConformalCalibration, optional): As in :func:`infer_landmarks`.

    Returns:
        dict: As :func:`infer_landmarks`.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    channels = cfg.model.head.out_channels
    if channels != len(onnx_model.keypoint_names):
        raise ValueError(f'{onnx_model.path} predicts {len(onnx_model.keypoint_names)} '
                         f'landmarks, its config {channels}: not the model of this config')
    if uncertainty is not None:
        uncertainty.check_model(onnx_model.fingerprint, onnx_model.keypoint_names,
                                onnx_model.path)
    img = read_medical_image(image)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
    height, width = img.shape[:2]
    packed = pipeline(dict(img=img, bbox=np.array([[0, 0, width, height]], np.float32),
                           bbox_score=np.ones(1, np.float32)))
    meta = packed['data_samples'].metainfo
    inputs = packed['inputs'].float().numpy()[None]
    kpts, scores, spread = onnx_model(inputs)
    kpts = to_image_coordinates(kpts[0], meta['input_center'], meta['input_scale'],
                                meta['input_size'])
    spread = spread_in_image_pixels(spread[0], onnx_model.heatmap_size, meta['input_scale'])
    specs = declared_measurements(cfg.test_dataloader.dataset)
    return landmark_result(image, img, kpts, scores[0], onnx_model.keypoint_names, specs,
                           spacing, spread, uncertainty)


def landmark_result(image, img, kpts, scores, names, specs, spacing, spread=None,
                    uncertainty=None) -> dict:
    """The result dict of :func:`infer_landmarks` from predicted landmarks.

    Args:
        image (str): Image path.
        img (np.ndarray): The image as read.
        kpts (np.ndarray): ``(K, 2)`` landmarks in image pixels.
        scores (np.ndarray): ``(K, )`` scores.
        names (Sequence[str]): Landmark names.
        specs (tuple): Resolved measurements (:func:`declared_measurements`).
        spacing (float | Sequence[float], optional): Given pixel spacing.
        spread (np.ndarray, optional): ``(K, )`` heatmap spread, image pixels.
        uncertainty (ConformalCalibration, optional): Turns ``spread`` into radii.
    """
    source = 'argument'
    if spacing is None:
        spacing, source = read_header_spacing(image)
    if spacing is not None:
        spacing = spacing_xy(spacing)
    landmarks = []
    for k, ((x, y), score) in enumerate(zip(kpts, scores)):
        item = dict(index=k, name=names[k], x=float(x), y=float(y), score=float(score))
        if spacing is not None:
            item.update(x_mm=float(x) * spacing[0], y_mm=float(y) * spacing[1])
        if uncertainty is not None:
            radius = float(uncertainty.radius(spread)[k])
            radius = radius if np.isfinite(radius) else None  # too few validation images
            item.update(spread_px=float(spread[k]), radius_px=radius,
                        outside_validation=bool(uncertainty.outside_validation(spread)[k]))
            if spacing is not None and radius is not None:  # isotropic: mean spacing
                item['radius_mm'] = radius * float(np.mean(spacing))
        landmarks.append(item)
    values = measure(np.asarray(kpts), specs, spacing if spacing is not None else (1.0, 1.0))
    unit = 'mm' if spacing is not None else 'px'
    measurements = [dict(name=m['name'], value=None if np.isnan(values[m['name']])
                         else values[m['name']], unit=measurement_unit(m, specs, unit))
                    for m in specs]
    result = dict(image=image, width=int(img.shape[1]), height=int(img.shape[0]),
                  spacing=spacing, spacing_source=source if spacing is not None else None,
                  landmarks=landmarks, measurements=measurements)
    if uncertainty is not None:
        result['uncertainty'] = dict(coverage=uncertainty.coverage, calibration=uncertainty.path)
    return result


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
