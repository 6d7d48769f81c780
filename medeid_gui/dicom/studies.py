"""Group discovered instances into patient → study → series, the way a reader browses them.

Why a tree of plain dataclasses: the GUI's study browser, the CLI's listing and the export plan all
need the same grouping and the same order; computing it once here (no Qt) keeps them consistent and
testable. Missing identifiers never merge unrelated data silently: an instance without a Study or
Series Instance UID gets a group of its own keyed by its file path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .discover import InstanceRef

__all__ = ["PatientNode", "StudyNode", "SeriesNode", "group"]


def _num_key(n: int | None) -> tuple[int, int]:
    return (0, n) if n is not None else (1, 0)


@dataclass
class SeriesNode:
    """One series; ``instances`` sorted by instance number, then path."""

    series_uid: str
    series_number: int | None
    description: str
    modality: str
    instances: list[InstanceRef] = field(default_factory=list)

    @property
    def n_instances(self) -> int:
        return len(self.instances)

    @property
    def n_frames(self) -> int:
        return sum(i.number_of_frames for i in self.instances)

    @property
    def size(self) -> int:
        return sum(i.size for i in self.instances)

    @property
    def date(self) -> str:
        return next((i.series_date for i in self.instances if i.series_date), "")

    @property
    def label(self) -> str:
        num = f"#{self.series_number} " if self.series_number is not None else ""
        return f"{num}{self.modality or '?'} {self.description}".strip()


@dataclass
class StudyNode:
    """One study; ``series`` sorted by series number, then description and UID."""

    study_uid: str
    date: str
    time: str
    description: str
    accession_number: str
    series: list[SeriesNode] = field(default_factory=list)

    @property
    def modalities(self) -> list[str]:
        return sorted({s.modality for s in self.series if s.modality})

    @property
    def n_series(self) -> int:
        return len(self.series)

    @property
    def n_instances(self) -> int:
        return sum(s.n_instances for s in self.series)

    @property
    def size(self) -> int:
        return sum(s.size for s in self.series)

    @property
    def instances(self) -> list[InstanceRef]:
        return [i for s in self.series for i in s.instances]


@dataclass
class PatientNode:
    """One patient (by Patient ID, then name); ``studies`` sorted by date/time, then UID."""

    patient_id: str
    patient_name: str
    birth_date: str
    sex: str
    studies: list[StudyNode] = field(default_factory=list)

    @property
    def n_studies(self) -> int:
        return len(self.studies)

    @property
    def n_series(self) -> int:
        return sum(s.n_series for s in self.studies)

    @property
    def n_instances(self) -> int:
        return sum(s.n_instances for s in self.studies)

    @property
    def size(self) -> int:
        return sum(s.size for s in self.studies)

    @property
    def instances(self) -> list[InstanceRef]:
        return [i for s in self.studies for i in s.instances]


def _first_nonempty(values: Iterable[str]) -> str:
    return next((v for v in values if v), "")


def group(instances: Iterable[InstanceRef]) -> list[PatientNode]:
    """Group into patients → studies → series; every level sorted deterministically.

    Patients are keyed by (PatientID, PatientName) so two people who share an empty or
    placeholder ID are not merged when their names differ. A study is keyed by its UID under its
    patient; a series by its UID under its study. Missing UIDs group per file.
    """
    tree: dict[tuple[str, str], dict[str, dict[str, list[InstanceRef]]]] = {}
    for inst in instances:
        pkey = (inst.patient_id, inst.patient_name)
        skey = inst.study_uid or f"(no study UID) {inst.path}"
        sekey = inst.series_uid or f"(no series UID) {inst.path}"
        tree.setdefault(pkey, {}).setdefault(skey, {}).setdefault(sekey, []).append(inst)

    patients: list[PatientNode] = []
    for (pid, pname), studies in tree.items():
        p_insts = [i for st in studies.values() for se in st.values() for i in se]
        pnode = PatientNode(
            patient_id=pid,
            patient_name=pname,
            birth_date=_first_nonempty(i.patient_birth_date for i in p_insts),
            sex=_first_nonempty(i.patient_sex for i in p_insts),
        )
        for series in studies.values():
            s_insts = [i for se in series.values() for i in se]
            snode = StudyNode(
                study_uid=_first_nonempty(i.study_uid for i in s_insts),
                date=_first_nonempty(i.study_date for i in s_insts),
                time=_first_nonempty(i.study_time for i in s_insts),
                description=_first_nonempty(i.study_description for i in s_insts),
                accession_number=_first_nonempty(i.accession_number for i in s_insts),
            )
            for insts in series.values():
                insts = sorted(insts, key=lambda i: (_num_key(i.instance_number), str(i.path)))
                snode.series.append(
                    SeriesNode(
                        series_uid=_first_nonempty(i.series_uid for i in insts),
                        series_number=next((i.series_number for i in insts if i.series_number is not None), None),
                        description=_first_nonempty(i.series_description for i in insts),
                        modality=_first_nonempty(i.modality for i in insts),
                        instances=insts,
                    )
                )
            snode.series.sort(
                key=lambda s: (_num_key(s.series_number), s.description, s.series_uid, str(s.instances[0].path))
            )
            pnode.studies.append(snode)
        pnode.studies.sort(
            key=lambda s: (s.date == "", s.date, s.time, s.study_uid, str(s.series[0].instances[0].path))
        )
        patients.append(pnode)
    patients.sort(key=lambda p: (p.patient_id == "", p.patient_id, p.patient_name))
    return patients
