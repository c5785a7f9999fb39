"""UDPHeatmapDecoder against MMPose's UDPHeatmap.decode on constructed heatmaps."""
import numpy as np
import pytest
import torch
from mmpose.codecs import UDPHeatmap

from mmpose_medsapiens.deploy import UDPHeatmapDecoder

INPUT_SIZE, HEATMAP_SIZE = (64, 80), (16, 20)


def gaussian_heatmaps(centers, sigma=2.0, size=HEATMAP_SIZE, peak=1.0):
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w]
    return np.stack([peak * np.exp(-((xs - cx)**2 + (ys - cy)**2) / (2 * sigma**2))
                     for cx, cy in centers]).astype(np.float32)


def assert_matches_mmpose(heatmaps, atol=1e-4):
    codec = UDPHeatmap(input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, sigma=2)
    want_kpts, want_scores = codec.decode(heatmaps.copy())
    got_kpts, got_scores = UDPHeatmapDecoder(INPUT_SIZE, HEATMAP_SIZE)(
        torch.from_numpy(heatmaps)[None])
    np.testing.assert_allclose(got_kpts[0].numpy(), want_kpts[0], atol=atol, rtol=0)
    np.testing.assert_allclose(got_scores[0].numpy(), want_scores[0], atol=1e-6, rtol=0)


def test_sub_pixel_peaks_inside_and_at_the_border():
    centers = [(3.3, 4.7), (8.5, 10.25), (0.0, 0.0), (15.0, 19.0), (15.4, 0.6), (7.9, 18.8)]
    assert_matches_mmpose(gaussian_heatmaps(centers))


def test_noisy_and_weak_heatmaps():
    rng = np.random.default_rng(0)
    heatmaps = gaussian_heatmaps([(5.2, 6.1), (10.7, 3.3), (2.2, 15.5)], peak=0.4)
    heatmaps += rng.normal(0, 0.02, heatmaps.shape).astype(np.float32)
    assert_matches_mmpose(heatmaps)


def test_non_positive_maximum_follows_mmpose():
    # MMPose sets such a location to -1 and still refines it; the neighbours
    # it reads then wrap around the flattened array.
    heatmaps = gaussian_heatmaps([(5.0, 5.0), (9.5, 12.5), (3.0, 3.0)])
    heatmaps[0] = -heatmaps[0]
    heatmaps[2] = 0.0
    assert_matches_mmpose(heatmaps)


def test_batch_items_are_independent():
    a = gaussian_heatmaps([(3.3, 4.7), (8.5, 10.25)])
    b = gaussian_heatmaps([(12.1, 2.9), (1.5, 17.2)])
    decoder = UDPHeatmapDecoder(INPUT_SIZE, HEATMAP_SIZE)
    both, _ = decoder(torch.from_numpy(np.stack([a, b])))
    alone, _ = decoder(torch.from_numpy(b)[None])
    np.testing.assert_array_equal(both[1].numpy(), alone[0].numpy())


def test_even_blur_kernel_is_refused():
    with pytest.raises(ValueError, match='odd'):
        UDPHeatmapDecoder(INPUT_SIZE, HEATMAP_SIZE, blur_kernel_size=10)
