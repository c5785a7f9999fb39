"""What the datasets' build-time image check costs next to decoding the image.

Datasets run :func:`probe_image` on every image when they are built, so a
truncated or corrupt file is named then and not mid-epoch. This measures,
on one full-leg-sized 16-bit radiograph (4600 x 2300, ~21 MB as PNG) written
in each format the sets ship, the median seconds of

* ``probe_image`` (what the dataset build runs), and
* ``read_medical_image`` (a full decode, what the loader runs per sample),

and checks the goal: the PNG probe within 20 ms, and no probe slower than
the decode it replaces. The image is a smooth gradient with noise, so PNG
and zlib-compressed MetaImage compress it about as they do a real film.

Usage:
    python tools/benchmarks/image_probe_cost.py [--quick] [--out-dir DIR]
"""
import os.path as osp
import tempfile

import _common
import cv2
import numpy as np
import SimpleITK as sitk

from mmpose_medsapiens.fileio.image_header import probe_image
from mmpose_medsapiens.fileio.image_reader import read_medical_image

NAME = 'image_probe_cost'
PNG_PROBE_GOAL_S = 0.020


def get_settings(quick: bool) -> dict:
    return dict(height=460 if quick else 4600, width=230 if quick else 2300,
                repeats=3 if quick else 7)


def radiograph(height: int, width: int) -> np.ndarray:
    """A 16-bit film-like image: a smooth body of bone-like bands plus noise."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    body = 20000 + 15000 * np.exp(-((x - width / 2) / (0.18 * width)) ** 2)
    bands = 3000 * np.sin(y / (0.03 * height)) ** 2
    noise = rng.normal(0, 400, (height, width))
    return np.clip(body + bands + noise, 0, 65535).astype(np.uint16)


def write_formats(img: np.ndarray, folder: str) -> dict:
    """The image as PNG, JPEG (8-bit), raw and zlib MetaImage; name -> path."""
    paths = dict(png=osp.join(folder, 'leg.png'), jpeg=osp.join(folder, 'leg.jpg'),
                 mha_raw=osp.join(folder, 'leg_raw.mha'), mha_zlib=osp.join(folder, 'leg_zlib.mha'))
    cv2.imwrite(paths['png'], img)
    cv2.imwrite(paths['jpeg'], (img >> 8).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 95])
    itk = sitk.GetImageFromArray(img)
    sitk.WriteImage(itk, paths['mha_raw'], useCompression=False)
    sitk.WriteImage(itk, paths['mha_zlib'], useCompression=True)
    return paths


def main(argv=None):
    parser = _common.base_parser(__doc__.split('\n')[0])
    args = parser.parse_args(argv)
    settings = get_settings(args.quick)
    img = radiograph(settings['height'], settings['width'])
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for fmt, path in write_formats(img, folder).items():
            times = _common.time_interleaved(
                dict(probe=lambda p=path: probe_image(p),
                     decode=lambda p=path: read_medical_image(p)),
                repeats=settings['repeats'])
            probe_s, decode_s = _common.median(times['probe']), _common.median(times['decode'])
            rows.append(dict(format=fmt, file_mb=osp.getsize(path) / 1e6, probe_ms=probe_s * 1e3,
                             decode_ms=decode_s * 1e3, decode_over_probe=decode_s / probe_s))
    _common.print_table(rows, ['format', 'file_mb', 'probe_ms', 'decode_ms', 'decode_over_probe'],
                        f'{NAME}: {settings["height"]}x{settings["width"]} 16-bit, median of '
                        f'{settings["repeats"]}')
    png = next(r for r in rows if r['format'] == 'png')
    met = png['probe_ms'] <= PNG_PROBE_GOAL_S * 1e3 and all(r['probe_ms'] <= r['decode_ms']
                                                           for r in rows)
    print(f'{"GOAL MET" if met else "GOAL MISSED"}: PNG probe {png["probe_ms"]:.1f} ms '
          f'(goal <= {PNG_PROBE_GOAL_S * 1e3:.0f} ms); every probe within its decode time'
          + (' (--quick: sizes are not the goal\'s)' if args.quick else ''))
    _common.write_json(args.out_dir, NAME, settings, dict(rows=rows, goal_met=met))
    return rows


if __name__ == '__main__':
    main()
