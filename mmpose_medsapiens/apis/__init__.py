from .landmark_inference import declared_measurements, infer_landmarks, write_prediction
from .model_init import init_landmark_model

__all__ = ['declared_measurements', 'infer_landmarks', 'init_landmark_model', 'write_prediction']
