"""Header de-identification by the DICOM PS3.15 confidentiality profile. No Qt, no torch."""
