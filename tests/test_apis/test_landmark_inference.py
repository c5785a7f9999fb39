"""infer_landmarks / tools/infer.py on 8-bit, 16-bit and folder inputs."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from conftest import run_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.apis import init_model
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
    proc = run_tool(['tools/infer.py', osp.join(synthetic_data, 'Images'), '--config',
                     tiny_config, '--checkpoint', tiny_checkpoint, '--out-dir', str(out)])
    images = sorted(os.listdir(osp.join(synthetic_data, 'Images')))
    assert f'wrote {len(images)} prediction(s)' in proc.stdout
    with open(out / images[0].replace('.png', '.json')) as f:
        result = json.load(f)
    assert result['spacing'] is None and 'x_mm' not in result['landmarks'][0]
    assert (out / images[-1]).exists()


def test_mmpose_inferencer_accepts_our_config(tiny_config, tiny_checkpoint, synthetic_data):
    from mmpose.apis import MMPoseInferencer
    image = osp.join(synthetic_data, 'Images', sorted(os.listdir(
        osp.join(synthetic_data, 'Images')))[0])
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


def test_measurements_of_a_new_image(tiny_config, tiny_checkpoint, synthetic_data, tmp_path):
    from conftest import derived_config

    # The tiny model's first 10 channels read as the ISBI head landmarks.
    config = derived_config(tiny_config, tmp_path / 'head.py', test_dataloader=dict(
        dataset=dict(type='ISBI2015HeadDataset')))
    image = osp.join(synthetic_data, 'Images', sorted(os.listdir(
        osp.join(synthetic_data, 'Images')))[0])
    model = init_model(config, tiny_checkpoint, device='cpu')
    result = infer_landmarks(model, image, spacing=0.1)
    got = {m['name']: m for m in result['measurements']}
    assert list(got) == ['SNA', 'SNB', 'ANB', 'FMA', 'PFH', 'AFH']
    xy = {i: np.array([result['landmarks'][i]['x'], result['landmarks'][i]['y']])
          for i in range(10)}

    def angle(u, v):
        return np.degrees(np.arccos(np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v)))
    sna = angle(xy[0] - xy[1], xy[4] - xy[1])  # at nasion, towards sella and A
    snb = angle(xy[0] - xy[1], xy[5] - xy[1])
    assert got['SNA']['value'] == pytest.approx(sna, abs=1e-6) and got['SNA']['unit'] == 'deg'
    assert got['ANB']['value'] == pytest.approx(sna - snb, abs=1e-6)
    assert got['AFH']['value'] == pytest.approx(0.1 * np.linalg.norm(xy[1] - xy[7]))
    assert got['AFH']['unit'] == 'mm'
    without = {m['name']: m for m in infer_landmarks(model, image)['measurements']}
    assert without['AFH']['unit'] == 'px'
    assert without['AFH']['value'] == pytest.approx(np.linalg.norm(xy[1] - xy[7]))
    json_path, _ = write_prediction(result, str(tmp_path / 'out'))
    with open(json_path) as f:
        assert json.load(f)['measurements'][5]['name'] == 'AFH'


def test_generalist_measurements_sit_in_their_block():
    from mmpose_medsapiens.apis import declared_measurements
    cfg = Config.fromfile(osp.join(osp.dirname(__file__), '..', '..', 'configs',
                                   'medsapiens_generalist.py'))
    specs = {m['name']: m for m in declared_measurements(cfg.test_dataloader.dataset)}
    assert list(specs) == ['head/SNA', 'head/SNB', 'head/ANB', 'head/FMA', 'head/PFH',
                           'head/AFH']
    assert specs['head/SNA']['landmarks'] == (0, 1, 4)
    assert specs['head/ANB']['terms'] == ('head/SNA', 'head/SNB')
    layout = dict(type='MedSapiensGeneralistDataset',
                  layout=['HandXrayDataset', 'EchoNetLVHDataset', 'ISBI2015HeadDataset'],
                  datasets=[dict(type='ISBI2015HeadDataset'), dict(type='EchoNetLVHDataset')])
    specs = {m['name']: m for m in declared_measurements(layout)}
    assert specs['head/SNA']['landmarks'] == (41, 42, 45)  # after 37 hand + 4 echo
    assert specs['echonet_lvh/IVSd']['landmarks'] == (37, 38)
