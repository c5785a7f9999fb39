from .landmark_inference import (declared_measurements, infer_landmarks, infer_landmarks_onnx,
                                 landmark_result, write_prediction)
from .model_init import init_landmark_model

__all__ = ['declared_measurements', 'infer_landmarks', 'infer_landmarks_onnx',
           'init_landmark_model', 'landmark_result', 'write_prediction']
