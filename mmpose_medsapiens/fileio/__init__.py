"""Reading medical images: one backend per format family, one dispatcher.

Layers, bottom up: :mod:`.windowing` (the 8-bit rule) -> the backends
:mod:`.raster_io` (OpenCV), :mod:`.dicom_io` (pydicom), :mod:`.itk_io`
(SimpleITK) -> :mod:`.image_reader` (pick the backend by file) ->
:mod:`.image_header` (cheap whole-file check at dataset build time, which
falls back on the reader for formats it has no header walk for).
"""
from .dicom_io import read_dicom, read_dicom_header
from .image_header import probe_image
from .image_reader import IMAGE_SUFFIXES, read_header_spacing, read_image_size, read_medical_image
from .itk_io import ItkImageInfo, read_itk_image, read_itk_info
from .windowing import WINDOW_PERCENTILES, window_to_uint8

__all__ = [
    'IMAGE_SUFFIXES', 'WINDOW_PERCENTILES', 'ItkImageInfo', 'probe_image', 'read_dicom',
    'read_dicom_header', 'read_header_spacing', 'read_image_size', 'read_itk_image',
    'read_itk_info', 'read_medical_image', 'window_to_uint8'
]
