from .landmark_inference import infer_landmarks, write_prediction
from .model_init import init_landmark_model

__all__ = ['infer_landmarks', 'init_landmark_model', 'write_prediction']
