from .medical_landmark_dataset import DatasetFormatError, MedicalLandmarkDataset

__all__ = ['DatasetFormatError', 'MedicalLandmarkDataset']
