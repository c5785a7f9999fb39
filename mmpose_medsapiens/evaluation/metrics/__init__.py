from .medical_landmark_metric import MedicalLandmarkMetric

__all__ = ['MedicalLandmarkMetric']
