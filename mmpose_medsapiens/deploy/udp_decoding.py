"""UDP heatmap decoding (argmax + DARK-UDP) written with tensor operations.

``mmpose.codecs.UDPHeatmap.decode`` runs in NumPy/OpenCV outside the model,
so an exported graph would stop at heatmaps. This module computes the same
numbers with torch operations that trace into ONNX: the argmax of each
heatmap, the DARK-UDP refinement (an 11x11 Gaussian blur rescaled to the
heatmap's maximum, the log of the heatmap clipped to [1e-3, 50], one Newton
step from finite differences on the edge-padded log heatmap) and the UDP
scaling to input pixels, ``x_in = x_hm * (input_w - 1) / (heatmap_w - 1)``.

Two details follow MMPose exactly because they change the output:
a heatmap whose maximum is not positive has its location set to -1 before
the refinement (and MMPose reads the finite differences there from a
flattened array, wrapping to the neighbouring channel), and the 2x2 solve
runs in float64 like NumPy's.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def gaussian_kernel_1d(size: int) -> torch.Tensor:
    """OpenCV's kernel for ``GaussianBlur(ksize=size, sigma=0)``."""
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    kernel = torch.exp(-x**2 / (2 * sigma**2))
    return (kernel / kernel.sum()).float()


class UDPHeatmapDecoder(nn.Module):
    """Heatmaps ``(N, K, H, W)`` to keypoints in input pixels and scores.

    Args:
        input_size (tuple): Model input size (w, h).
        heatmap_size (tuple): Heatmap size (w, h).
        blur_kernel_size (int): DARK blur kernel, ``UDPHeatmap``'s default 11.
    """

    def __init__(self, input_size, heatmap_size, blur_kernel_size: int = 11):
        super().__init__()
        if blur_kernel_size % 2 != 1:
            raise ValueError(f'blur_kernel_size must be odd, got {blur_kernel_size}')
        self.input_size = tuple(int(v) for v in input_size)
        self.heatmap_size = tuple(int(v) for v in heatmap_size)
        self.border = (blur_kernel_size - 1) // 2
        kernel = gaussian_kernel_1d(blur_kernel_size)
        self.register_buffer('kernel', torch.outer(kernel, kernel)[None, None], persistent=False)

    def forward(self, heatmaps: torch.Tensor):
        n, k, h, w = heatmaps.shape
        flat = heatmaps.reshape(n, k, h * w)
        scores, index = flat.max(dim=2)
        x = (index % w).float()
        y = torch.div(index, w, rounding_mode='floor').float()
        # MMPose marks a non-positive maximum with location -1.
        invalid = scores <= 0
        x = torch.where(invalid, torch.full_like(x, -1.0), x)
        y = torch.where(invalid, torch.full_like(y, -1.0), y)
        dx, dy = self._dark_offset(heatmaps, x, y)
        # float32 after the step (MMPose's in-place update), float64 scaling.
        x = (x.double() - dx).float().double() * (self.input_size[0] / (w - 1))
        y = (y.double() - dy).float().double() * (self.input_size[1] / (h - 1))
        return torch.stack([x, y], dim=-1).float(), scores

    def _blurred_log(self, heatmaps):
        n, k, h, w = heatmaps.shape
        planes = heatmaps.reshape(n * k, 1, h, w)
        peak = planes.amax(dim=(2, 3), keepdim=True)
        blurred = F.conv2d(planes, self.kernel, padding=self.border)
        blurred = blurred * (peak / blurred.amax(dim=(2, 3), keepdim=True))
        return torch.log(blurred.clamp(1e-3, 50.0)).reshape(n, k, h, w)

    def _dark_offset(self, heatmaps, x, y):
        """Newton step ``H^-1 g`` at integer locations ``x``, ``y`` (N, K)."""
        n, k, h, w = heatmaps.shape
        logs = F.pad(self._blurred_log(heatmaps), (1, 1, 1, 1), mode='replicate')
        pw, ph = w + 2, h + 2
        flat = logs.reshape(n, k * ph * pw)
        channel = (torch.arange(k, device=heatmaps.device) * (ph * pw))[None]
        center = (x + 1 + (y + 1) * pw).long() + channel
        size = k * ph * pw

        def at(offset):
            # Python-style modulo: the wrap of NumPy's negative indices.
            return torch.gather(flat, 1, (center + offset) % size)

        i_, ix1, ix1_ = at(0), at(1), at(-1)
        iy1, iy1_ = at(pw), at(-pw)
        ix1y1, ix1_y1_ = at(pw + 1), at(-pw - 1)
        # Differences in float32, the solve in float64, as in NumPy.
        gx = (0.5 * (ix1 - ix1_)).double()
        gy = (0.5 * (iy1 - iy1_)).double()
        eps = float(torch.finfo(torch.float32).eps)
        dxx = (ix1 - 2 * i_ + ix1_).double() + eps
        dyy = (iy1 - 2 * i_ + iy1_).double() + eps
        dxy = (0.5 * (ix1y1 - ix1 - iy1 + i_ + i_ - ix1_ - iy1_ + ix1_y1_)).double()
        det = dxx * dyy - dxy * dxy
        return (dyy * gx - dxy * gy) / det, (dxx * gy - dxy * gx) / det
