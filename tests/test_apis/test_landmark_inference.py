"""infer_landmarks / tools/infer.py on 8-bit, 16-bit and folder inputs."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.apis import init_model

from conftest import run_tool
from mmpose.registry import MODELS
from mmpose_medsapiens.apis import infer_landmarks, write_prediction


@pytest.fixture(scope='module')
def tiny_checkpoint(tiny_config, tmp_path_factory):
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(tiny_config).model)
    path = str(tmp_path_factory.mktemp('ckpt') / 'tiny.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def test_function_on_16bit_image_with_spacing(tiny_config, tiny_checkpoint, tmp_path):
    img = (np.arange(90 * 70, dtype=np.uint16).reshape(90, 70) * 9)
    path = str(tmp_path / 'scan16.png')
    cv2.imwrite(path, img)
    model = init_model(tiny_config, tiny_checkpoint, device='cpu')
    result = infer_landmarks(model, path, spacing=0.5)
    assert (result['width'], result['height']) == (70, 90) and result['spacing'] == (0.5, 0.5)
    assert len(result['landmarks']) == 10 and result['landmarks'][0]['name'] == 'sella'
    for item in result['landmarks']:  # an untrained model: values, not accuracy
        assert item['x_mm'] == pytest.approx(item['x'] * 0.5)
        assert item['y_mm'] == pytest.approx(item['y'] * 0.5)
        assert np.isfinite([item['x'], item['y'], item['score']]).all()
    json_path, png_path = write_prediction(result, str(tmp_path / 'out'))
    with open(json_path) as f:
        assert json.load(f)['landmarks'][3]['name'] == 'porion'
    assert cv2.imread(png_path).shape == (90, 70, 3)


@pytest.mark.slow
def test_cli_on_a_folder(tiny_config, tiny_checkpoint, synthetic_data, tmp_path):
    out = tmp_path / 'pred'
    proc = run_tool(['tools/infer.py', osp.join(synthetic_data, 'images'), '--config',
                     tiny_config, '--checkpoint', tiny_checkpoint, '--out-dir', str(out)])
    images = sorted(os.listdir(osp.join(synthetic_data, 'images')))
    assert f'wrote {len(images)} prediction(s)' in proc.stdout
    with open(out / images[0].replace('.png', '.json')) as f:
        result = json.load(f)
    assert result['spacing'] is None and 'x_mm' not in result['landmarks'][0]
    assert (out / images[-1]).exists()


def test_mmpose_inferencer_accepts_our_config(tiny_config, tiny_checkpoint, synthetic_data):
    from mmpose.apis import MMPoseInferencer
    image = osp.join(synthetic_data, 'images', sorted(os.listdir(
        osp.join(synthetic_data, 'images')))[0])
    inferencer = MMPoseInferencer(pose2d=tiny_config, pose2d_weights=tiny_checkpoint,
                                  det_model='whole_image', device='cpu')
    result = next(inferencer(image, return_vis=False))
    ours = infer_landmarks(init_model(tiny_config, tiny_checkpoint, device='cpu'), image)
    theirs = np.asarray(result['predictions'][0][0]['keypoints'])
    np.testing.assert_allclose(theirs, [[p['x'], p['y']] for p in ours['landmarks']], atol=1e-3)


@pytest.mark.slow
def test_dicom_spacing_from_the_header_unless_given(tiny_config, tiny_checkpoint, tmp_path):
    from helpers.dicom_files import write_dicom
    raw = (np.arange(90 * 70).reshape(90, 70) % 4096).astype(np.uint16)
    path = write_dicom(tmp_path / 'scan.dcm', raw, WindowCenter=2048, WindowWidth=4096,
                       ImagerPixelSpacing=[0.2, 0.25])
    model = init_model(tiny_config, tiny_checkpoint, device='cpu')
    result = infer_landmarks(model, path)
    assert result['spacing'] == (0.25, 0.2) and result['spacing_source'] == 'ImagerPixelSpacing'
    assert result['landmarks'][0]['x_mm'] == pytest.approx(result['landmarks'][0]['x'] * 0.25)
    given = infer_landmarks(model, path, spacing=0.1)
    assert given['spacing'] == (0.1, 0.1) and given['spacing_source'] == 'argument'
    out = tmp_path / 'out'
    run_tool(['tools/infer.py', str(tmp_path), '--config', tiny_config, '--checkpoint',
              tiny_checkpoint, '--out-dir', str(out)])
    with open(out / 'scan.json') as f:
        assert json.load(f)['spacing_source'] == 'ImagerPixelSpacing'
