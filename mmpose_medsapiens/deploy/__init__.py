"""Deployment: the model with its decoding as one ONNX graph."""
from .decoded_model import DecodedLandmarkModel, model_fingerprint
from .onnx_model import OnnxLandmarkModel, export_onnx, to_image_coordinates
from .udp_decoding import UDPHeatmapDecoder

__all__ = ['DecodedLandmarkModel', 'OnnxLandmarkModel', 'UDPHeatmapDecoder', 'export_onnx',
           'model_fingerprint', 'to_image_coordinates']
