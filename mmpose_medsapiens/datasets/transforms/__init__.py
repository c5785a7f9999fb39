from .loading import LoadMedicalImage

__all__ = ['LoadMedicalImage']
