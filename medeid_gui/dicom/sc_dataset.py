"""The Secondary Capture dataset for one imported image (pure: no file access).

Why apart from the run: what goes into each element (and what is deliberately left empty) is the
part a reviewer checks against the SC IOD; ``dicom/import_images.py`` explains the choices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from medeid_gui.dicom.import_rows import ImportEntry, lo_value

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


@dataclass(frozen=True)
class Placement:
    """Where an entry sits in the imported collection: its UIDs and numbers."""

    study_uid: str
    series_uid: str
    sop_uid: str
    series_number: int
    instance_number: int


def build_dataset(
    e: ImportEntry, pixels: np.ndarray, *, fmt: str, lossy: bool, place: Placement, modality: str
) -> Dataset:
    """The Secondary Capture dataset for one entry."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
    meta.MediaStorageSOPInstanceUID = place.sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    _identity(ds, e, place, modality)
    _provenance(ds, e, fmt, lossy)
    _pixels(ds, pixels)
    return ds


def _identity(ds: Dataset, e: ImportEntry, place: Placement, modality: str) -> None:
    """Patient, study, series and instance: only what the row states; the rest empty (type 2)."""
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.SOPClassUID = SECONDARY_CAPTURE
    ds.SOPInstanceUID = place.sop_uid
    ds.StudyDate = e.study_date
    ds.StudyTime = ""
    if e.study_date:
        ds.SeriesDate = ds.ContentDate = e.study_date
    ds.AccessionNumber = ""
    ds.Modality = modality
    ds.ConversionType = "WSD"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = f"Imported images, {e.day_label if not e.day_label.startswith('row') else 'day unknown'}"
    ds.SeriesDescription = lo_value(e.view) or "view unknown"
    if e.finding:
        ds.AdmittingDiagnosesDescription = [e.finding]
    ds.PatientName = ""
    ds.PatientID = e.patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = e.sex
    if e.age:
        ds.PatientAge = e.age
    if e.body_part:
        ds.BodyPartExamined = e.body_part
    if e.view_position:
        ds.ViewPosition = e.view_position
    ds.StudyInstanceUID = place.study_uid
    ds.SeriesInstanceUID = place.series_uid
    ds.StudyID = e.day_label[:16] if not e.day_label.startswith("row") else ""
    ds.SeriesNumber = place.series_number
    ds.InstanceNumber = place.instance_number
    ds.PatientOrientation = e.orientation or ""


def _provenance(ds: Dataset, e: ImportEntry, fmt: str, lossy: bool) -> None:
    """Licence, source file and lossy history: later training lists the licences it used."""
    lines = [f"License: {e.licence or 'not stated'}", f"Image file: {e.image}"]
    lines += [f"{k}: {v}" for k, v in e.sources.items()]
    ds.ImageComments = "\r\n".join(lo_value(line, 1000) for line in lines)
    ds.DerivationDescription = (
        f"Converted from {fmt} file {e.path.name} (sha256 {e.sha256[:16]}) by medeid import-images"[:1024]
    )
    if lossy:
        ds.LossyImageCompression = "01"
        if fmt.upper() in {"JPEG", "MPO"}:
            ds.LossyImageCompressionMethod = "ISO_10918_1"


def _pixels(ds: Dataset, pixels: np.ndarray) -> None:
    """The file's own values: 8-bit stays 8-bit, 16-bit stays 16-bit, colour stays RGB."""
    if pixels.ndim == 3:
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
    else:
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
    bits = 16 if pixels.dtype == np.uint16 else 8
    ds.Rows, ds.Columns = int(pixels.shape[0]), int(pixels.shape[1])
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    data = np.ascontiguousarray(pixels.astype("<u2" if bits == 16 else np.uint8)).tobytes()
    if len(data) % 2:
        data += b"\x00"
    ds.PixelData = data
    ds["PixelData"].VR = "OW" if bits == 16 else "OB"
