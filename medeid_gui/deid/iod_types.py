"""Which compound action (X/Z, X/D, X/Z/D, Z/D, X/Z/U*) an attribute gets: its Type in the IOD.

Why a small hand-made table instead of the full PS3.3 module tables: only the ~50 attributes with
a compound action in Table E.1-1 need a Type, and for them what matters is "could this be Type 1
(must keep a dummy) or Type 2 (must keep, may be empty) in the IOD of this file?". The answer is
derived from what the dataset *is* (which modules it carries: Multi-frame Functional Groups, SR
document content, PET series, RT plan/record, waveforms) rather than from a list of SOP classes,
so new SOP classes that reuse those modules are covered. When in doubt the table says Type 1 or 2:
a dummy or an empty value is never less private than removal, while removing a required attribute
breaks the object (the peers' validator errors).

The modules and Types cited are PS3.3 2024b:
- Multi-frame Functional Groups (C.7.6.16): Content Date, Content Time Type 1.
- Enhanced General Equipment (C.7.5.2), present in every IOD that has functional groups:
  Device Serial Number Type 1.
- Enhanced MR/CT/XA/PET/US Image modules: Acquisition DateTime Type 1C (required for ORIGINAL
  images; kept as a dummy for all).
- SR Document General (C.17.2): Content Date, Content Time Type 1; SR Document Series /
  Key Object Document Series: Referenced Performed Procedure Step Sequence Type 2.
- PET Series (C.8.9.1): Series Date, Series Time Type 1 (also kept as dummies for Enhanced and
  Legacy Converted Enhanced PET).
- Enhanced Series (C.7.3.3): Referenced Performed Procedure Step Sequence Type 1C (kept, UIDs
  replaced).
- RT Treatment Summary Record (C.8.8.23): First / Most Recent Treatment Date Type 2.
- Waveform Identification (C.10.8) and ophthalmic photography/tomography image modules:
  Acquisition DateTime Type 1.
- RT General Plan (C.8.8.9): RT Plan Date, RT Plan Time Type 2; Treatment Machine Name (RT Beams)
  Type 2; RT Treatment Record modules: Treatment Date/Time Type 2; RT Approval: Reviewer Name 2C.
- Waveform Identification (C.10.8): Content Date, Content Time Type 1.
- RT Series (C.8.8.1): Operators' Name Type 2.
- Patient (C.7.1.1): Responsible Person, Responsible Organization Type 2C for animals.
- General Image (C.7.6.1): Content Date, Content Time Type 2C; Contrast/Bolus (C.7.6.4):
  Contrast/Bolus Agent Type 2; Patient (C.7.1.1): Patient's Sex Neutered 2C;
  Acquisition Context (C.7.6.14): Acquisition Context Sequence Type 2;
  Content Identification macro: Content Creator's Name Type 2.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.tag import BaseTag
from pydicom.uid import UID_dictionary

_SOP_CLASS = BaseTag(0x00080016)
_MODALITY = BaseTag(0x00080060)

_PET_SERIES_CLASSES = frozenset(
    uid for uid, v in UID_dictionary.items()
    if v[0] in ("Positron Emission Tomography Image Storage", "Enhanced PET Image Storage",
                "Legacy Converted Enhanced PET Image Storage")
)
_OPHTHALMIC_PREFIXES = ("1.2.840.10008.5.1.4.1.1.77.1.5.",)

#: SOP classes whose IOD includes the Multi-frame Functional Groups and Enhanced General
#: Equipment modules (PS3.3 A.36 ff., A.51 Segmentation, A.75 Parametric Map, A.32.8 WSI, ...).
#: Matched by name in pydicom's UID dictionary so the list needs no hand-typed UIDs.
_FG_NAMES = (
    "Enhanced CT Image Storage", "Enhanced MR Image Storage", "Enhanced MR Color Image Storage",
    "Enhanced PET Image Storage", "Enhanced XA Image Storage", "Enhanced XRF Image Storage",
    "Enhanced US Volume Storage", "Enhanced RT Image Storage", "Enhanced Continuous RT Image Storage",
    "Legacy Converted Enhanced CT Image Storage", "Legacy Converted Enhanced MR Image Storage",
    "Legacy Converted Enhanced PET Image Storage", "Breast Tomosynthesis Image Storage",
    "Breast Projection X-Ray Image Storage - For Presentation",
    "Breast Projection X-Ray Image Storage - For Processing", "Segmentation Storage",
    "Parametric Map Storage", "VL Whole Slide Microscopy Image Storage",
    "Ophthalmic Tomography Image Storage",
    "Intravascular Optical Coherence Tomography Image Storage - For Presentation",
    "Intravascular Optical Coherence Tomography Image Storage - For Processing",
    "X-Ray 3D Angiographic Image Storage", "X-Ray 3D Craniofacial Image Storage",
    "Photoacoustic Image Storage", "Label Map Segmentation Storage", "Height Map Segmentation Storage",
)
_FG_SOP_CLASSES = frozenset(uid for uid, v in UID_dictionary.items() if v[0] in _FG_NAMES)
_RT_MODALITIES = frozenset({"RTPLAN", "RTSTRUCT", "RTDOSE", "RTRECORD", "RTIMAGE", "RTTREATSUM"})

#: attributes whose Type does not depend on the IOD family (conservative: max over common IODs)
_TYPE2_ANYWHERE = {
    0x00100020,  # Patient ID (Patient module)
    0x00400555,  # Acquisition Context Sequence
    0x00102203,  # Patient's Sex Neutered (2C)
    0x00700084,  # Content Creator's Name
    0x00180010,  # Contrast/Bolus Agent
    0x300A0006,  # RT Plan Date
    0x300A0007,  # RT Plan Time
    0x300A00B2,  # Treatment Machine Name
    0x300E0008,  # Reviewer Name (2C)
    0x30080250,  # Treatment Date
    0x30080251,  # Treatment Time
    0x30080105,  # Source Serial Number
    0x00080023,  # Content Date (2C in General Image)
    0x00080033,  # Content Time
    0x22000005,  # Barcode Value
    0x22000002,  # Label Text
    0x30080054,  # First Treatment Date (RT Treatment Summary Record)
    0x30080056,  # Most Recent Treatment Date
}


#: plain-X rows of Table E.1-1 that are Type 2C in the Patient Module when the patient is an
#: animal (Patient Species present): removing them would break the IOD, so they are emptied (Z)
_ANIMAL_2C = frozenset({0x00102297, 0x00102299})  # Responsible Person, Responsible Organization
#: plain-X rows whose Type must be checked (everything else with X is Type 3 in every IOD)
GUARDED_X = _ANIMAL_2C


@dataclass(frozen=True)
class IodContext:
    """What modules the top-level dataset carries (decides Types of compound attributes)."""

    functional_groups: bool = False
    sr_document: bool = False
    pet_series: bool = False
    acquisition_dt_required: bool = False
    waveform: bool = False
    rt_series: bool = False
    animal: bool = False


def iod_context(ds: Dataset) -> IodContext:
    keys = ds.keys()  # plain dict membership: no tag conversion per test
    sop = str(ds[_SOP_CLASS].value or "").strip(" \0") if _SOP_CLASS in keys else ""
    fg = sop in _FG_SOP_CLASSES or 0x52009229 in keys or 0x52009230 in keys
    sr = 0x0040A040 in keys and 0x0040A043 in keys  # Value Type + Concept Name Code Sequence
    pet = sop in _PET_SERIES_CLASSES
    waveform = 0x54000100 in keys
    ophthalmic = sop.startswith(_OPHTHALMIC_PREFIXES)
    modality = str(ds[_MODALITY].value or "") if _MODALITY in keys else ""
    rt = modality.strip().upper() in _RT_MODALITIES
    animal = 0x00102201 in keys or 0x00102202 in keys  # Patient Species Description / Code Seq.
    return IodContext(fg, sr, pet, fg or waveform or ophthalmic, waveform, rt, animal)


def attribute_type(tag: int, ctx: IodContext, depth: int) -> int:
    """1, 2 or 3 (3 also for "unknown": the compound action then removes)."""
    if depth == 0:
        if tag in (0x00080023, 0x00080033) and (
            ctx.functional_groups or ctx.sr_document or ctx.waveform
        ):
            return 1
        if tag == 0x00181000 and ctx.functional_groups:
            return 1
        if tag == 0x0008002A and ctx.acquisition_dt_required:
            return 1
        if tag in (0x00080021, 0x00080031) and ctx.pet_series:
            return 1
        if tag == 0x00081111 and ctx.functional_groups:  # Enhanced Series: Type 1C
            return 1
        if tag == 0x00081111 and ctx.sr_document:
            return 2
        if tag == 0x00081070 and ctx.rt_series:  # RT Series: Operators' Name Type 2
            return 2
        if tag in _ANIMAL_2C and ctx.animal:
            return 2
    if tag in _TYPE2_ANYWHERE:
        return 2
    return 3


def resolve_compound(action: str, type_: int) -> str:
    """Pick one of the letters of a compound action for an attribute of Type ``type_``.

    PS3.15 E.1.1: X/Z = X unless Z is required (Type 2); X/D = X unless D is required (Type 1);
    X/Z/D = X unless Z or D is required; Z/D = Z unless D is required; X/Z/U* = X unless Z or
    "replacement of contained UIDs (U)" is required.
    """
    allowed = action.split("/")
    if len(allowed) == 1:
        return action
    if type_ == 1:
        for a in ("D", "U*"):
            if a in allowed:
                return a
        return allowed[-1]
    if type_ == 2:
        if "Z" in allowed:
            return "Z"
        return "D" if "D" in allowed else allowed[-1]
    return allowed[0]
