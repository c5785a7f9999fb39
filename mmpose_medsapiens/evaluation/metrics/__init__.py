from .medical_landmark_metric import MedicalLandmarkMetric, radial_errors

__all__ = ['MedicalLandmarkMetric', 'radial_errors']
