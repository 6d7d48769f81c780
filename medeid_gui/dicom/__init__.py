"""Reading studies: discovery, grouping, lazy frame decoding, windowing, writing valid DICOM. No Qt, no torch."""
