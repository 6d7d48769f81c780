"""Write generated radiographs as real DX DICOM with planted, realistic *fake* PHI.

Why: the cohort must exercise the same I/O and header de-identification path as a site's real
archive, so every file is a valid "Digital X-Ray Image Storage - For Presentation" instance with
the identifying attributes a real one carries (names, MRN, birth date, accession, dates and times,
institution, physicians, operator, station, device serial, a private tag with the name in it).
All of it is invented from the seed; none of it belongs to a real person.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pydicom.dataset import Dataset, FileMetaDataset

DX_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"
BITS_STORED = 14
_UID_ROOT = "1.2.826.0.1.3680043.10.1138."  # pydicom-registered prefix space, fixed per cohort

_FIRST_F = ("Anna", "Maria", "Sofia", "Elena", "Laura", "Ingrid", "Chloe", "Aisha", "Yuki",
            "Fatima", "Helena", "Nora", "Clara", "Ruth", "Grace", "Leila", "Mei", "Olga")
_FIRST_M = ("James", "Lukas", "Mateo", "Omar", "Kenji", "David", "Pierre", "Jonas", "Ivan",
            "Samuel", "Tomas", "Rahul", "Erik", "Felix", "Hugo", "Arjun", "Liam", "Piotr")
_LAST = ("Muller", "Garcia", "Rossi", "Novak", "Jensen", "Kowalski", "Tanaka", "Okafor",
         "Schmidt", "Dubois", "Silva", "Lindqvist", "Horvat", "Haddad", "Nguyen", "Brennan",
         "Fischer", "Moreau", "Costa", "Petrov", "Yilmaz", "Weber", "Berg", "Kim")
_INSTITUTIONS = (
    ("St. Aldric General Hospital", "12 Harbour Road, Westbury WB3 4QT"),
    ("Klinikum Nordstadt", "Lindenallee 44, 30167 Hannover"),
    ("Hopital Saint-Sernin", "8 rue des Tanneurs, 31000 Toulouse"),
    ("Riverside University Medical Center", "1400 Elm Street, Springfield, OH 45501"),
)
_PHYSICIANS = ("Hartmann^Greta^^Dr.", "Okonkwo^Chidi^^Dr.", "Laurent^Emile^^Dr.",
               "Sato^Hiroshi^^Dr.", "Whitfield^Jane^^Dr.")
_OPERATORS = ("RT^Becker", "RT^Alvarez", "RT^Chen", "RT^Murphy")


@dataclass(frozen=True)
class FakePerson:
    """Invented demographics for one cohort patient (the PHI the header will carry)."""

    patient_id: str
    name: str
    sex: str
    birth_date: _dt.date
    first_study: _dt.date
    institution: int
    physician: str
    phone: str

    @classmethod
    def sample(cls, rng: np.random.Generator, seed: int, index: int) -> FakePerson:
        sex = "F" if rng.random() < 0.5 else "M"
        first = rng.choice(_FIRST_F if sex == "F" else _FIRST_M)
        last = rng.choice(_LAST)
        birth = _dt.date(1935, 1, 1) + _dt.timedelta(days=int(rng.integers(0, 365 * 70)))
        first_study = _dt.date(2015, 1, 1) + _dt.timedelta(days=int(rng.integers(0, 365 * 8)))
        mrn = f"MRN{seed % 100:02d}{index:05d}{int(rng.integers(0, 10))}"
        return cls(
            patient_id=mrn,
            name=f"{last}^{first}^{rng.choice(['', 'A', 'J', 'M'])}".rstrip("^"),
            sex=sex,
            birth_date=birth,
            first_study=first_study,
            institution=int(rng.integers(0, len(_INSTITUTIONS))),
            physician=str(rng.choice(_PHYSICIANS)),
            phone=f"+44 20 7{int(rng.integers(100, 999))} {int(rng.integers(1000, 9999))}",
        )


def _uid(*parts: object) -> str:
    """Deterministic UID from the parts (so a cohort regenerates byte-identically)."""
    import hashlib

    h = int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24], 16)
    return (_UID_ROOT + str(h))[:64]


def _age(birth: _dt.date, on: _dt.date) -> str:
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return f"{years:03d}Y"


def write_study_dicom(path: str | Path, image: np.ndarray, person: FakePerson, study_index: int,
                      *, seed: int) -> None:
    """Write ``image`` (float in [0, 1], 2-D) as a DX For Presentation instance at ``path``."""
    from pydicom.dataset import Dataset

    if image.ndim != 2:
        raise ValueError("expected a 2-D image")
    rng = np.random.default_rng([seed, int(person.patient_id[3:]), study_index])
    maxv = (1 << BITS_STORED) - 1
    pix = np.clip(np.round(image.astype(np.float64) * maxv), 0, maxv).astype(np.uint16)
    date = person.first_study + _dt.timedelta(days=int(97 * study_index + 13 * (study_index**2)))
    time = f"{8 + (study_index * 3) % 10:02d}{(17 * study_index + 5) % 60:02d}{(31 * study_index) % 60:02d}"
    study_uid = _uid(seed, person.patient_id, study_index, "study")
    sop_uid = _uid(seed, person.patient_id, study_index, "sop")

    ds = Dataset()
    ds.file_meta = _file_meta(sop_uid)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.SOPClassUID = DX_PRESENTATION
    ds.SOPInstanceUID = sop_uid
    _set_study(ds, person, study_index, seed=seed, date=date, time=time, study_uid=study_uid)
    _set_patient(ds, person, date, rng)  # draws from rng: keep before the private block's draw
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = _uid(seed, person.patient_id, study_index, "series")
    ds.StudyID = f"{study_index + 1}"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.AcquisitionNumber = 1
    _set_acquisition(ds, image.shape, study_index)
    _set_pixels(ds, pix, maxv)

    # a private block that carries PHI, as vendors' private tags sometimes do
    block = ds.private_block(0x0029, "MEDEID SYNTH 1.0", create=True)
    block.add_new(0x10, "LO", person.name.replace("^", " "))
    block.add_new(0x11, "LO", f"ward 4B bed {int(rng.integers(1, 30))}")

    ds.save_as(str(path), enforce_file_format=True)


def _file_meta(sop_uid: str) -> FileMetaDataset:
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX_PRESENTATION
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "MEDEID_COHORT"
    return meta


def _set_study(ds: Dataset, person: FakePerson, study_index: int, *, seed: int, date: _dt.date,
               time: str, study_uid: str) -> None:
    """Dates and times, accession, equipment, institution, physicians, operator, descriptions."""
    inst_name, inst_addr = _INSTITUTIONS[person.institution]
    accession = f"ACC{int(study_uid[-9:]) % 10**8:08d}"
    d, t = date.strftime("%Y%m%d"), time
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = d
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = t
    ds.InstanceCreationDate, ds.InstanceCreationTime = d, t
    ds.AccessionNumber = accession
    ds.Modality = "DX"
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.Manufacturer = "Medeid Synthetic Imaging"
    ds.ManufacturerModelName = "CohortGen DR-1"
    ds.DeviceSerialNumber = f"SN{person.institution:02d}-{(seed * 7919) % 100000:05d}"
    ds.SoftwareVersions = "cohort-1"
    ds.InstitutionName = inst_name
    ds.InstitutionAddress = inst_addr
    ds.StationName = f"XR-ROOM-{person.institution + 1}"
    ds.InstitutionalDepartmentName = "Radiology"
    ds.ReferringPhysicianName = person.physician
    ds.ReferringPhysicianTelephoneNumbers = person.phone
    ds.PerformingPhysicianName = _PHYSICIANS[(person.institution + 1) % len(_PHYSICIANS)]
    ds.OperatorsName = _OPERATORS[study_index % len(_OPERATORS)]
    ds.StudyDescription = "XR CHEST PA"
    ds.SeriesDescription = "CHEST PA"


def _set_patient(ds: Dataset, person: FakePerson, date: _dt.date, rng: np.random.Generator) -> None:
    """The patient module, with the invented PHI (other IDs, address, phone)."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    inst_name = _INSTITUTIONS[person.institution][0]
    ds.PatientName = person.name
    ds.PatientID = person.patient_id
    ds.IssuerOfPatientID = inst_name.split()[0].upper()
    ds.PatientBirthDate = person.birth_date.strftime("%Y%m%d")
    ds.PatientSex = person.sex
    ds.PatientAge = _age(person.birth_date, date)
    other = Dataset()
    other.PatientID = f"NHS{int(person.patient_id[3:]) * 37 % 10**9:09d}"
    other.TypeOfPatientID = "TEXT"
    other.IssuerOfPatientID = "NHS"
    ds.OtherPatientIDsSequence = Sequence([other])
    ds.PatientAddress = f"{int(rng.integers(1, 200))} Station Road, Westbury"
    ds.PatientTelephoneNumbers = person.phone.replace("7", "8", 1)


def _set_acquisition(ds: Dataset, shape: tuple[int, ...], study_index: int) -> None:
    """Orientation, view, exposure and the nominal detector spacing of a PA chest."""
    from pydicom.sequence import Sequence

    # PA chest displayed conventionally: image left = patient right -> row direction is L
    ds.PatientOrientation = ["L", "F"]
    ds.BurnedInAnnotation = "NO"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.ImageLaterality = "U"
    ds.PositionerType = "NONE"
    ds.DetectorType = "SCINTILLATOR"
    ds.KVP = f"{110 + 5 * (study_index % 4)}"
    ds.ExposureTime = 10 + study_index
    ds.XRayTubeCurrent = 200
    ds.Exposure = 3
    ds.DistanceSourceToDetector = "1800"
    ds.ImagerPixelSpacing = [f"{350 / shape[0]:.4f}", f"{350 / shape[1]:.4f}"]
    ds.PixelSpacing = ds.ImagerPixelSpacing
    ds.PixelSpacingCalibrationType = "GEOMETRY"
    ds.PixelSpacingCalibrationDescription = "nominal detector spacing"
    ds.AnatomicRegionSequence = Sequence([_code("51185008", "SCT", "Chest")])
    ds.ViewCodeSequence = Sequence([_code("399348003", "SCT", "postero-anterior")])
    ds.ViewCodeSequence[0].ViewModifierCodeSequence = Sequence([])
    ds.AcquisitionContextSequence = Sequence([])



def _set_pixels(ds: Dataset, pix: np.ndarray, maxv: int) -> None:
    """Image pixel module: 14 of 16 bits, MONOCHROME2, log intensities, full-range window."""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(pix.shape[0]), int(pix.shape[1])
    ds.BitsAllocated = 16
    ds.BitsStored = BITS_STORED
    ds.HighBit = BITS_STORED - 1
    ds.PixelRepresentation = 0
    ds.PixelIntensityRelationship = "LOG"
    ds.PixelIntensityRelationshipSign = 1
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.RescaleType = "US"
    ds.WindowCenter = str(maxv // 2)
    ds.WindowWidth = str(maxv)
    ds.VOILUTFunction = "LINEAR"
    ds.PresentationLUTShape = "IDENTITY"
    ds.LossyImageCompression = "00"
    ds.QualityControlImage = "NO"
    ds.PixelData = pix.tobytes()


def _code(value: str, scheme: str, meaning: str):
    from pydicom.dataset import Dataset

    c = Dataset()
    c.CodeValue = value
    c.CodingSchemeDesignator = scheme
    c.CodeMeaning = meaning
    return c
