"""ONNX export with decoding: onnxruntime against PyTorch, and bad files."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS

from mmpose_medsapiens.apis import infer_landmarks, infer_landmarks_onnx, init_landmark_model
from mmpose_medsapiens.deploy import (DecodedLandmarkModel, OnnxLandmarkModel, export_onnx,
                                      to_image_coordinates)
from mmpose_medsapiens.evaluation.functional import heatmap_spread


def names_of(model):
    meta = model.dataset_meta
    return [meta['keypoint_id2name'][k] for k in range(model.head.out_channels)]


@pytest.fixture(scope='module')
def model(udp_config, fitted_udp_checkpoint):
    return init_landmark_model(udp_config, fitted_udp_checkpoint, device='cpu')


@pytest.fixture(scope='module')
def onnx_file(model, tmp_path_factory):
    path = str(tmp_path_factory.mktemp('onnx') / 'tiny.onnx')
    export_onnx(model, path, model.dataset_meta['flip_indices'], names_of(model))
    return path


@pytest.fixture(scope='module')
def fitted_batch(udp_config):
    """The images the model was fitted to, through the test pipeline."""
    init_default_scope('mmpose')
    cfg = Config.fromfile(udp_config)
    dataset = DATASETS.build(dict(cfg.train_dataloader.dataset,
                                  pipeline=cfg.test_dataloader.dataset.pipeline))
    return pseudo_collate([dataset[i] for i in range(len(dataset))])


def test_onnxruntime_matches_pytorch_predictions(model, onnx_file, fitted_batch):
    with torch.no_grad():
        samples = model.test_step(fitted_batch)
    want = np.stack([s.pred_instances.keypoints[0] for s in samples])
    want_scores = np.stack([s.pred_instances.keypoint_scores[0] for s in samples])
    # The parity claim holds for peaked heatmaps, which this fixture must give.
    assert want_scores.min() > 0.2, want_scores.min()
    inputs = torch.stack(fitted_batch['inputs']).float().numpy()
    kpts, scores, spread = OnnxLandmarkModel(onnx_file)(inputs)
    got = np.stack([to_image_coordinates(k, s.metainfo['input_center'],
                                         s.metainfo['input_scale'], s.metainfo['input_size'])
                    for k, s in zip(kpts, samples)])
    assert np.abs(got - want).max() < 0.01
    assert np.abs(scores - want_scores).max() < 1e-4
    decoded = DecodedLandmarkModel(model, model.dataset_meta['flip_indices'])
    with torch.no_grad():
        want_spread = heatmap_spread(decoded.heatmaps(torch.from_numpy(inputs))).numpy()
    np.testing.assert_allclose(spread, want_spread, atol=1e-4)


def test_the_graph_has_the_flip_test_and_a_dynamic_batch(model, onnx_file, fitted_batch):
    onnx_model = OnnxLandmarkModel(onnx_file)
    assert onnx_model.metadata['flip_test'] is True
    assert onnx_model.input_size == (64, 80) and onnx_model.heatmap_size == (16, 20)
    inputs = torch.stack(fitted_batch['inputs']).float().numpy()
    one, _, _ = onnx_model(inputs[3:4])
    many, _, _ = onnx_model(inputs)
    np.testing.assert_allclose(one[0], many[3], atol=1e-4)
    # Without the flip test the model is another one: the flip must be in the graph.
    decoded = DecodedLandmarkModel(model, model.dataset_meta['flip_indices'])
    decoded.flip_test = False
    with torch.no_grad():
        unflipped, _, _ = decoded(torch.from_numpy(inputs))
    assert np.abs(unflipped.numpy() - many).max() > 1e-3


def test_infer_landmarks_onnx_matches_pytorch_on_an_image_file(model, onnx_file, udp_config,
                                                               synthetic_data):
    image = osp.join(synthetic_data, 'Images', sorted(os.listdir(
        osp.join(synthetic_data, 'Images')))[0])
    want = infer_landmarks(model, image, spacing=0.1)
    got = infer_landmarks_onnx(OnnxLandmarkModel(onnx_file), udp_config, image, spacing=0.1)
    assert [p['name'] for p in got['landmarks']] == [p['name'] for p in want['landmarks']]
    for g, w in zip(got['landmarks'], want['landmarks']):
        assert abs(g['x'] - w['x']) < 0.01 and abs(g['y'] - w['y']) < 0.01
        assert abs(g['x_mm'] - w['x_mm']) < 0.001 and abs(g['score'] - w['score']) < 1e-4
    assert got['spacing'] == want['spacing'] and got['width'] == want['width']


def test_another_config_is_refused(onnx_file, tiny_config, synthetic_data, tmp_path):
    cfg = Config.fromfile(tiny_config)
    cfg.model.head.out_channels = 7
    image = osp.join(synthetic_data, 'Images', sorted(os.listdir(
        osp.join(synthetic_data, 'Images')))[0])
    with pytest.raises(ValueError, match='tiny.onnx predicts 10 landmarks, its config 7'):
        infer_landmarks_onnx(OnnxLandmarkModel(onnx_file), cfg, image)


def test_wrong_input_size_names_the_file(onnx_file):
    with pytest.raises(ValueError, match=r'tiny\.onnx takes images of shape \(N, 3, 80, 64\), '
                       r'got \(1, 3, 64, 64\)'):
        OnnxLandmarkModel(onnx_file)(np.zeros((1, 3, 64, 64), np.float32))


def test_truncated_and_broken_files_name_the_file(onnx_file, tmp_path):
    with open(onnx_file, 'rb') as f:
        data = f.read()
    truncated = tmp_path / 'truncated.onnx'
    truncated.write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match='truncated.onnx is not a readable ONNX model'):
        OnnxLandmarkModel(str(truncated))
    garbage = tmp_path / 'garbage.onnx'
    garbage.write_bytes(b'not a model at all' * 10)
    with pytest.raises(ValueError, match='garbage.onnx is not a readable ONNX model'):
        OnnxLandmarkModel(str(garbage))
    with pytest.raises(FileNotFoundError, match='missing.onnx does not exist'):
        OnnxLandmarkModel(str(tmp_path / 'missing.onnx'))


def test_an_onnx_file_without_our_metadata_is_refused(tmp_path):
    path = str(tmp_path / 'plain.onnx')
    torch.onnx.export(torch.nn.Linear(3, 2), (torch.zeros(1, 3), ), path, dynamo=False)
    with pytest.raises(ValueError, match="plain.onnx has no 'mmpose_medsapiens' metadata"):
        OnnxLandmarkModel(path)


def test_only_the_udp_decoder_is_exported(tiny_config, tmp_path):
    from helpers.trained_udp_model import fit_tiny_model
    ckpt = str(tmp_path / 'msra.pth')
    fit_tiny_model(tiny_config, ckpt, steps=0)
    model = init_landmark_model(tiny_config, ckpt, device='cpu')
    with pytest.raises(ValueError, match='only the UDPHeatmap .* the config has MSRAHeatmap'):
        export_onnx(model, str(tmp_path / 'msra.onnx'), list(range(10)), names_of(model))
    assert not (tmp_path / 'msra.onnx').exists() and os.listdir(tmp_path) == ['msra.pth']
