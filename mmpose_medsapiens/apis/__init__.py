from .landmark_inference import infer_landmarks, write_prediction

__all__ = ['infer_landmarks', 'write_prediction']
