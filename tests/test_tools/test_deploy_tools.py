"""tools/deploy/export_onnx.py, tools/analysis/calibrate_uncertainty.py and the
onnxruntime / uncertainty options of tools/infer.py, as users run them."""
import json
import os
import os.path as osp

import pytest
from conftest import run_tool

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def exported(udp_config, fitted_udp_checkpoint, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('export') / 'model.onnx')
    proc = run_tool(['tools/deploy/export_onnx.py', udp_config, fitted_udp_checkpoint, out])
    assert 'wrote' in proc.stdout and '10 landmarks, input [64, 80]' in proc.stdout
    return out


@pytest.fixture(scope='module')
def calibration(udp_config, fitted_udp_checkpoint, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('calibration') / 'uncertainty.json')
    proc = run_tool(['tools/analysis/calibrate_uncertainty.py', udp_config,
                     fitted_udp_checkpoint, out, '--split', 'test', '--coverage', '0.5'])
    assert 'test split, 5 images, 50 % coverage' in proc.stdout
    return out


def test_export_refuses_to_overwrite(udp_config, fitted_udp_checkpoint, exported):
    before = os.path.getmtime(exported)
    proc = run_tool(['tools/deploy/export_onnx.py', udp_config, fitted_udp_checkpoint,
                     exported], check=False)
    assert proc.returncode != 0 and 'exists; pass --overwrite' in proc.stderr
    assert os.path.getmtime(exported) == before


def test_infer_with_onnxruntime_writes_what_pytorch_writes(udp_config, fitted_udp_checkpoint,
                                                           exported, calibration,
                                                           synthetic_data, tmp_path):
    images = osp.join(synthetic_data, 'Images')
    first = sorted(os.listdir(images))[0]
    outputs = {}
    for backend, ckpt in (('pytorch', fitted_udp_checkpoint), ('onnxruntime', exported)):
        out = tmp_path / backend
        run_tool(['tools/infer.py', osp.join(images, first), '--config', udp_config,
                  '--checkpoint', ckpt, '--backend', backend, '--spacing', '0.1',
                  '--uncertainty', calibration, '--out-dir', str(out)])
        with open(out / first.replace('.png', '.json')) as f:
            outputs[backend] = json.load(f)
        assert (out / first).exists()  # the overlay
    for a, b in zip(outputs['pytorch']['landmarks'], outputs['onnxruntime']['landmarks']):
        assert abs(a['x'] - b['x']) < 0.01 and abs(a['y'] - b['y']) < 0.01
        assert abs(a['spread_px'] - b['spread_px']) < 1e-3
        assert a['radius_px'] == pytest.approx(b['radius_px'], abs=1e-3)
        assert a['radius_mm'] == pytest.approx(a['radius_px'] * 0.1)
        assert a['outside_validation'] == b['outside_validation']
    assert outputs['onnxruntime']['uncertainty'] == dict(coverage=0.5, calibration=calibration)


def test_a_calibration_of_another_model_is_an_error(tiny_config, udp_config, exported,
                                                    synthetic_data, tmp_path):
    path = tmp_path / 'other.json'
    from mmpose_medsapiens.evaluation.functional import ConformalCalibration
    ConformalCalibration([1.0] * 10, [1.0] * 10, 0.9, [str(k) for k in range(10)],
                         '0123456789abcdef', [9] * 10).dump(str(path))
    image = osp.join(synthetic_data, 'Images', sorted(os.listdir(
        osp.join(synthetic_data, 'Images')))[0])
    proc = run_tool(['tools/infer.py', image, '--config', udp_config, '--checkpoint', exported,
                     '--uncertainty', str(path), '--out-dir', str(tmp_path / 'o')], check=False)
    assert proc.returncode != 0
    assert f'error: {path} was calibrated for the model with fingerprint 0123456789abcdef' \
        in proc.stderr
    assert not (tmp_path / 'o').exists()
    truncated = tmp_path / 'half.onnx'
    truncated.write_bytes(open(exported, 'rb').read()[:1000])
    proc = run_tool(['tools/infer.py', image, '--config', udp_config, '--checkpoint',
                     str(truncated), '--out-dir', str(tmp_path / 'o')], check=False)
    assert proc.returncode != 0 and f'error: {truncated} is not a readable ONNX model' \
        in proc.stderr
