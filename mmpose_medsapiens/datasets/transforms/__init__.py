from .load_medical_image import LoadMedicalImage

__all__ = ['LoadMedicalImage']
