"""The header de-identification engine: PS3.15 Table E.1-1, options, keyed pseudonyms.

How it works, and why:
- The table is compiled once per configuration into ``{tag: Rule}`` (profile.py), so a file is
  processed in **one pass** over its elements: a dict lookup per element, recursion into every
  sequence, no repeated searches and no regular expressions unless a Clean action asks for them.
  Elements that need no action are never even decoded (pydicom keeps them as raw bytes and writes
  them back as they were), which is what keeps an export close to a plain read+write copy.
- Compound actions (X/Z, X/D, X/Z/D, Z/D) are chosen by the attribute's Type in the IOD of this
  file (iod_types.py). X/Z/U* reference sequences are always kept with their UIDs replaced: the
  sequence then holds nothing but remapped references, and keeping it never breaks an IOD whose
  Type we did not model (the peers that empty or delete them add validator errors).
- UIDs, PatientID, AccessionNumber, StudyID, the pseudonymous PatientName and the date offset
  are HMAC-SHA256 functions of the project key and the *original* value (pseudonyms.py): every
  reference in every file of a batch maps to the same new UID without any shared state, two
  studies of one patient share the pseudonymous PatientID and keep their interval. Every UID,
  listed in the table or not, follows the one UID rule (uid_rule.py): replaced by its keyed
  pseudonym unless it is registered or its attribute names a definition (a SOP class, ...).
- Everything else the table does not list is kept (PS3.15 E.1.1), except: private attributes (odd
  groups; kept only from the allowlist under Retain Safe Private), whole overlay / curve groups
  when their data are removed (an Overlay Plane without Overlay Data is not conformant), group
  length elements (wrong after any change), and even-group attributes unknown to the data
  dictionary (newer than our table or invalid: their meaning, hence their risk, is unknown).
- The work is split by what it decides: walk.py (the pass, unlisted attributes), handlers.py
  (one handler per table action), value_rules.py (new values), groups.py (private, overlay,
  curve groups), rawvalues.py (reading raw bytes); this module configures and marks.
- Free text inside sequences kept by D (e.g. Content Sequence) is replaced by a dummy; inside
  sequences kept by C (Clean Structured Content / Clean Graphics) it is cleaned (clean_text.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.config import IGNORE as NO_CHECK
from pydicom.datadict import get_entry
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag

from medeid_gui import __version__
from medeid_gui.deid import rawvalues, uid_rule
from medeid_gui.deid.actions import Action
from medeid_gui.deid.clean_text import TextCleaner
from medeid_gui.deid.keys import ProjectKey
from medeid_gui.deid.options import (
    BASIC_PROFILE_CODE,
    CLEAN_PIXEL_DATA_CODE,
    CLEAN_VISUAL_FEATURES_CODE,
    Option,
    parse,
)
from medeid_gui.deid.private import SafePrivateList, load_safe_private
from medeid_gui.deid.profile import load_profile
from medeid_gui.deid.pseudonyms import Pseudonymizer
from medeid_gui.deid.walk import Run

# medeid's own implementation identity (the writers set the same in every file they write)
from medeid_gui.dicom.write import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

__all__ = ["Action", "DeidConfig", "DeidResult", "Deidentifier", "IMPLEMENTATION_CLASS_UID"]


SOP_INSTANCE_UID = BaseTag(0x00080018)
MEDIA_SOP_INSTANCE_UID = BaseTag(0x00020003)

#: file meta elements that name the sending system or carry private content: always removed
_META_REMOVE = {
    BaseTag(0x00020016): "SourceApplicationEntityTitle",
    BaseTag(0x00020017): "SendingApplicationEntityTitle",
    BaseTag(0x00020018): "ReceivingApplicationEntityTitle",
    BaseTag(0x00020026): "SourcePresentationAddress",
    BaseTag(0x00020027): "SendingPresentationAddress",
    BaseTag(0x00020028): "ReceivingPresentationAddress",
    BaseTag(0x00020100): "PrivateInformationCreatorUID",
    BaseTag(0x00020102): "PrivateInformation",
}
_MARK_TAGS = tuple(BaseTag(t) for t in (0x00120062, 0x00120063, 0x00120064, 0x00280303,
                                        0x00280301, 0x00280302, 0x00020012, 0x00020013))
_MARK_KEYWORDS = {t: get_entry(t)[4] for t in _MARK_TAGS}
_MARK_NAMES = {t: get_entry(t)[2] for t in _MARK_TAGS}
#: file meta elements ``_file_meta`` decides itself (removed, following the SOP Instance UID, set)
_META_HANDLED = frozenset(_META_REMOVE) | {MEDIA_SOP_INSTANCE_UID, _MARK_TAGS[6], _MARK_TAGS[7]}
_LINKAGE = (("PatientID", BaseTag(0x00100020)), ("StudyInstanceUID", BaseTag(0x0020000D)),
            ("SeriesInstanceUID", BaseTag(0x0020000E)), ("SOPInstanceUID", BaseTag(0x00080018)))


@dataclass(frozen=True)
class DeidConfig:
    """What to apply: a preset (``profile``) plus extra options, and the allowlist location."""

    options: frozenset[Option] = frozenset()
    profile: str = "basic"
    safe_private_path: str | Path | None = None

    def effective_options(self) -> frozenset[Option]:
        return parse(self.profile, self.options)


@dataclass
class DeidResult:
    dataset: Dataset
    actions: list[Action]
    #: keyword -> (original, pseudonym) for PatientID, StudyInstanceUID, SeriesInstanceUID,
    #: SOPInstanceUID (what a linkage ledger needs; never written into the output)
    linkage: dict[str, tuple[str, str]] = field(default_factory=dict)


class Deidentifier:
    """Applies one :class:`DeidConfig` with one project key; reusable across files and threads
    of one process (the per-call state lives in ``walk.Run``)."""

    def __init__(
        self,
        config: DeidConfig | None = None,
        key: ProjectKey | bytes | Pseudonymizer | None = None,
    ) -> None:
        self.config = config or DeidConfig()
        self.options = self.config.effective_options()
        if isinstance(key, Pseudonymizer):
            self.pseudonymizer = key
        else:
            self.pseudonymizer = Pseudonymizer(key if key is not None else ProjectKey.load_or_create())
        table = load_profile()
        self.table = table
        self.rules, self.patterns = table.compile(self.options)
        self.modified_dates = Option.RETAIN_LONGITUDINAL_MODIFIED_DATES in self.options
        self.full_dates = Option.RETAIN_LONGITUDINAL_FULL_DATES in self.options
        self.retain_uids = Option.RETAIN_UIDS in self.options
        self.safe_private: SafePrivateList | None = (
            load_safe_private(str(self.config.safe_private_path) if self.config.safe_private_path else None)
            if Option.RETAIN_SAFE_PRIVATE in self.options
            else None
        )
        self._method = self.method_description()
        self._cleaners: dict[frozenset[str], TextCleaner] = {}
        self.needs_cleaner = bool(
            self.options
            & {
                Option.CLEAN_DESCRIPTORS,
                Option.CLEAN_STRUCTURED_CONTENT,
                Option.CLEAN_GRAPHICS,
                Option.RETAIN_PATIENT_CHARACTERISTICS,
            }
        )

    def cleaner_for(self, tokens: frozenset[str]) -> TextCleaner:
        """One compiled cleaner per set of identifying tokens: the files of a study share it."""
        hit = self._cleaners.get(tokens)
        if hit is None:
            if len(self._cleaners) > 256:
                self._cleaners.clear()
            hit = self._cleaners[tokens] = TextCleaner(tokens)
        return hit

    # -- public API --------------------------------------------------------------------------
    def deidentify(
        self,
        ds: Dataset,
        *,
        pixels_cleaned: bool = False,
        visual_features_cleaned: bool = False,
        detailed: bool = False,
        keep_actions: bool = True,
        list_kept: bool = False,
    ) -> DeidResult:
        """De-identify ``ds`` **in place** and return it with every decision taken.

        ``detailed`` decodes removed values fully for the report (slower; ``describe`` uses it);
        otherwise removed values are shown from their raw bytes when those are plain ASCII.
        ``keep_actions=False`` leaves ``DeidResult.actions`` empty: the batch export never shows
        the decisions (``inspect``/``describe`` do), and recording them is a fifth of the cost.
        ``list_kept`` also records every element kept as it is (``inspect``: nothing leaves
        unseen). The dataset is changed exactly the same way either way.
        """
        orig = {kw: rawvalues.text(ds, tag) for kw, tag in _LINKAGE}
        run = Run(self, ds, detailed, keep_actions, list_kept)
        run.walk(ds, "", 0, "")
        self._mark(run, ds, pixels_cleaned, visual_features_cleaned)
        self._file_meta(run, ds)
        linkage = {kw: (o, rawvalues.text(ds, tag)) for (kw, tag), o in zip(_LINKAGE, orig.values()) if o}
        return DeidResult(ds, run.actions, linkage)

    def describe(self, ds: Dataset, **kwargs: bool) -> list[Action]:
        """Every decision ``deidentify`` would take, without changing ``ds``."""
        return self.deidentify(copy.deepcopy(ds), detailed=True, **kwargs).actions

    def method_description(self) -> list[str]:
        """Values of De-identification Method (LO, each at most 64 characters)."""
        vals = [
            f"medeid {__version__}",
            f"{self.table.standard} {self.table.revision} Table E.1-1 Basic Profile",
        ]
        vals += [o.meaning[:64] for o in sorted(self.options, key=lambda o: o.code)]
        vals.append("keyed HMAC-SHA256 pseudonyms")
        return vals

    def method_codes(self, pixels_cleaned: bool, visual_features_cleaned: bool) -> list[tuple[str, str]]:
        codes = [BASIC_PROFILE_CODE]
        if pixels_cleaned:
            codes.append(CLEAN_PIXEL_DATA_CODE)
        if visual_features_cleaned:
            codes.append(CLEAN_VISUAL_FEATURES_CODE)
        codes += [(o.code, o.meaning) for o in self.options]
        return sorted(codes)

    # -- marking -----------------------------------------------------------------------------
    def _set(self, run: Run, ds: Dataset, tag: int, vr: str, value: object, reason: str) -> None:
        tag = BaseTag(tag)
        # DataElement by tag: much cheaper than setattr-by-keyword, which matters per file
        old = run.take(ds, tag) if tag in ds else ""
        ds[tag] = DataElement(tag, vr, value, validation_mode=NO_CHECK)
        run.record(_MARK_KEYWORDS[tag], tag, "set", reason, old, value,
                   keyword=_MARK_KEYWORDS[tag], name=_MARK_NAMES[tag])

    def _mark(self, run: Run, ds: Dataset, pixels_cleaned: bool, visual: bool) -> None:
        self._set(run, ds, 0x00120062, "CS", "YES", "PS3.15 E.1.1: output is de-identified")
        self._set(run, ds, 0x00120063, "LO", self._method,
                  "PS3.15 E.1.1: profile, options and tool")
        seq = Sequence()
        for code, meaning in self.method_codes(pixels_cleaned, visual):
            item = Dataset()
            item[0x00080100] = DataElement(0x00080100, "SH", code, validation_mode=NO_CHECK)
            item[0x00080102] = DataElement(0x00080102, "SH", "DCM", validation_mode=NO_CHECK)
            item[0x00080104] = DataElement(0x00080104, "LO", meaning, validation_mode=NO_CHECK)
            seq.append(item)
        self._set(run, ds, 0x00120064, "SQ", seq,
                  "CID 7050 codes of the profile and options applied")
        ltim = "MODIFIED" if self.modified_dates else ("UNMODIFIED" if self.full_dates else "REMOVED")
        self._set(run, ds, 0x00280303, "CS", ltim, "PS3.15 E.3.6: how dates were treated")
        if pixels_cleaned:
            self._set(run, ds, 0x00280301, "CS", "NO", "pixel data cleaned by the caller")
        if visual:
            self._set(run, ds, 0x00280302, "CS", "NO",
                      "recognizable visual features cleaned by the caller")

    def _file_meta(self, run: Run, ds: Dataset) -> None:
        meta = getattr(ds, "file_meta", None)
        if meta is None:
            return
        for tag, kw in _META_REMOVE.items():
            if tag in meta:
                old = run.take(meta, tag)
                run.record("file_meta." + kw, tag, "X",
                           "file meta: names the sending system or carries private data", old, "")
        sop = rawvalues.text(ds, SOP_INSTANCE_UID)
        # Retain UIDs keeps (0002,0003) as it was (K in the table); otherwise it must follow the
        # new SOP Instance UID or the file contradicts itself
        if MEDIA_SOP_INSTANCE_UID in meta and Option.RETAIN_UIDS not in self.options:
            old = run.peek(meta, MEDIA_SOP_INSTANCE_UID)
            if sop:
                new, why = sop, "kept equal to the new SOP Instance UID"
            else:  # no SOP Instance UID in the dataset: the table's U, same keyed mapping
                new = uid_rule.map_uid(rawvalues.text(meta, MEDIA_SOP_INSTANCE_UID), run.ps.uid)
                why = "Basic Profile: U (no SOP Instance UID in the dataset to follow)"
            meta[MEDIA_SOP_INSTANCE_UID] = DataElement(MEDIA_SOP_INSTANCE_UID, "UI", new,
                                                       validation_mode=NO_CHECK)
            run.record("file_meta.MediaStorageSOPInstanceUID", 0x00020003, "U", why, old, new,
                       keyword="MediaStorageSOPInstanceUID", name="Media Storage SOP Instance UID")
        self._other_meta(run, meta)
        for tag, vr, val in ((_MARK_TAGS[6], "UI", IMPLEMENTATION_CLASS_UID),
                             (_MARK_TAGS[7], "SH", IMPLEMENTATION_VERSION_NAME)):
            old = run.peek(meta, tag) if tag in meta else ""
            meta[tag] = DataElement(tag, vr, val, validation_mode=NO_CHECK)
            run.record("file_meta." + _MARK_KEYWORDS[tag], tag, "set",
                       "this file was written by medeid", old, val,
                       keyword=_MARK_KEYWORDS[tag], name=_MARK_NAMES[tag])

    def _other_meta(self, run: Run, meta: Dataset) -> None:
        """File meta elements not handled above: UIDs by the UID rule, the rest kept (listed)."""
        for tag in list(meta.keys()):
            if tag in _META_HANDLED:
                continue
            if rawvalues.vr_of(meta, tag) == "UI" or rawvalues.DICT_VR.get(tag) == "UI":
                run.unlisted_uid(meta, tag, "file_meta.")
            else:
                run.record_kept(meta, tag, "file_meta.", "file meta")
