"""medeid: de-identify medical image studies (DICOM header profile + adjustable pixel privacy)."""

__version__ = "0.1.0"
