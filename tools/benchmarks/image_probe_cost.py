"""What the datasets' build-time image check costs next to decoding the image.

Datasets run :func:`probe_image` on every image when they are built, so a
truncated or corrupt file is named then and not mid-epoch. This measures,
on one full-leg-sized 16-bit radiograph (4600 x 2300, ~21 MB as PNG) written
in each format the sets ship, the median seconds of

* ``probe_image`` (what the dataset build runs), and
* ``read_medical_image`` (a full decode, what the loader runs per sample),

and their ratio. The image is a smooth gradient with noise, so PNG and
zlib-compressed MetaImage compress it about as they do a real film.

Usage:
    python tools/benchmarks/image_probe_cost.py [--quick] [--out-dir DIR]
"""
import os.path as osp
import tempfile

import cv2
import numpy as np
import SimpleITK as sitk

import mmpose_medsapiens  # noqa: F401  (registers the plugin)
from mmpose_medsapiens.fileio import probe_image, read_medical_image
from mmpose_medsapiens.testing import (base_parser, draw_film_like_image, median, print_table,
                                       time_interleaved, write_json)

NAME = 'image_probe_cost'


def get_settings(quick: bool) -> dict:
    return dict(height=460 if quick else 4600, width=230 if quick else 2300,
                repeats=3 if quick else 7)


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
    parser = base_parser(__doc__.split('\n')[0])
    args = parser.parse_args(argv)
    settings = get_settings(args.quick)
    img = draw_film_like_image(settings['height'], settings['width'])
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for fmt, path in write_formats(img, folder).items():
            times = time_interleaved(
                dict(probe=lambda p=path: probe_image(p),
                     decode=lambda p=path: read_medical_image(p)),
                repeats=settings['repeats'])
            probe_s, decode_s = median(times['probe']), median(times['decode'])
            rows.append(dict(format=fmt, file_mb=osp.getsize(path) / 1e6, probe_ms=probe_s * 1e3,
                             decode_ms=decode_s * 1e3, decode_over_probe=decode_s / probe_s))
    print_table(rows, ['format', 'file_mb', 'probe_ms', 'decode_ms', 'decode_over_probe'],
                f'{NAME}: {settings["height"]}x{settings["width"]} 16-bit, median of '
                f'{settings["repeats"]}')
    write_json(args.out_dir, NAME, settings, dict(rows=rows))
    return rows


if __name__ == '__main__':
    main()
