"""Generated chest-radiograph cohort with known identity and known findings.

Why: no real multi-study-per-patient image archive can be installed here, yet the attacker, the
downstream tasks and the de-identification method all need images where *who* the patient is and
*what* the image shows are known exactly and are independent of each other. This module renders
synthetic PA chest radiographs whose identity lives in patient-fixed anatomy (thorax and lung-field
shape, heart silhouette, ribs, clavicles, spine, bone texture, lung markings, sternotomy wires or a
pacemaker in some patients) while every study varies position, inspiration, exposure and noise and
carries findings (nodules, pleural effusion, opacity) drawn independently of the patient.

Size: this module (over 500 lines, ``render`` over 80) is the project's one documented exception
to the module and function size limits (docs/DEVELOPING.md). ``render`` draws one radiograph as a
single ordered sequence of random draws and layers; splitting it would spread that order over
several functions without making any part reusable, and the draw order must not change (the
cohort is byte-for-byte reproducible from its seed, and the shipped weights' card names the
generator version and seed).

Usage
-----
Generate (CLI: ``medeid ml cohort OUT --patients 200 --studies-per-patient 4 --seed 0``)::

    from medeid_gui.lab.cohort import CohortConfig, generate_cohort, load_split
    info = generate_cohort("out/cohort", CohortConfig(patients=200, studies_per_patient=4, seed=0))

Layout written under ``OUT``::

    OUT/cohort.json          config, generator version, splits {"train": [patient ids], ...}
    OUT/labels.csv           one row per image (see LABEL_COLUMNS): image_id, file, patient_id,
                             patient_index, study_index, split, nodule, effusion, opacity,
                             severity, nodule_x, nodule_y (centre of the largest nodule in [0,1]
                             image coordinates, -1 when none)
    OUT/masks.npz            image_id -> uint8 (H, W) label map, bit 1 nodule, 2 effusion,
                             4 opacity (0 = no finding); masks never go into the DICOM
    OUT/lungs.npz            image_id -> uint8 (H, W) lung-field mask (anatomy, for reference)
    OUT/dicom/<PatientID>/<StudyIndex>.dcm   DX "for presentation" image, 16-bit allocated /
                             14-bit stored, MONOCHROME2, with planted realistic fake PHI

Load a split as arrays (float32 in [0, 1], optionally area-resized to ``size``)::

    s = load_split("out/cohort", "train", size=128)
    s.images      # (N, H, W) float32 in [0, 1]
    s.patients    # (N,) int64 patient index (the identity label)
    s.findings    # (N, 3) float32: nodule, effusion, opacity (0/1)
    s.severity    # (N,) float32: lesion area / lung area
    s.nodule_xy   # (N, 2) float32, -1 where no nodule
    s.masks       # (N, H, W) uint8 binary lesion mask (any finding), resized with the images
    s.label_maps  # (N, H, W) uint8 bit-coded per-finding map

Splits are patient-disjoint (train 60 % / val 20 % / test 20 % of patients by default).
Everything is deterministic from ``seed``: the same config writes identical pixels, labels and
UIDs (``generate_cohort`` is byte-for-byte reproducible apart from file timestamps).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

GENERATOR_VERSION = "2"
SPLITS = ("train", "val", "test")
FINDINGS = ("nodule", "effusion", "opacity")
FINDING_BITS = {"nodule": 1, "effusion": 2, "opacity": 4}
LABEL_COLUMNS = (
    "image_id", "file", "patient_id", "patient_index", "study_index", "split",
    "nodule", "effusion", "opacity", "severity", "nodule_x", "nodule_y",
)


@dataclass(frozen=True)
class CohortConfig:
    """What to generate. ``prevalence`` is per finding, drawn independently per study."""

    patients: int = 200
    studies_per_patient: int = 4
    seed: int = 0
    size: int = 256
    split_fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
    prevalence: tuple[float, float, float] = (0.4, 0.3, 0.3)
    device_rate: float = 0.2

    def validate(self) -> None:
        if self.patients < 3:
            raise ValueError("need at least 3 patients (one per split)")
        if self.studies_per_patient < 1:
            raise ValueError("need at least one study per patient")
        if self.size < 64 or self.size > 2048:
            raise ValueError("size must be between 64 and 2048 pixels")
        if abs(sum(self.split_fractions) - 1.0) > 1e-6 or min(self.split_fractions) <= 0:
            raise ValueError("split_fractions must be positive and sum to 1")


# --------------------------------------------------------------------------- parameters


@dataclass
class Anatomy:
    """Patient-fixed anatomy: the identity. Coordinates are body coordinates in [-1, 1]."""

    body_w: float
    neck_w: float
    shoulder_y: float
    lung_cx: tuple[float, float]
    lung_rx: tuple[float, float]
    lung_top: tuple[float, float]
    lung_bottom: tuple[float, float]
    lung_exp: float
    apex_narrow: float
    dome: tuple[float, float]
    heart_c: tuple[float, float]
    heart_r: tuple[float, float]
    heart_rot: float
    knob_r: float
    spine_w: float
    vert_period: float
    vert_phase: float
    rib_y0: float
    rib_spacing: float
    rib_slope: float
    rib_curv: float
    rib_w: float
    rib_jitter: np.ndarray  # (2, N_RIBS, 3): dy0, dcurv, dw per side and rib
    clav_y: float
    clav_angle: float
    clav_len: float
    clav_w: float
    bone_density: float
    soft_density: float
    bone_tex: np.ndarray  # (T, T) field in [-1, 1]
    lung_tex: np.ndarray  # (T, T) field in [-1, 1]
    wires: int  # sternotomy wires, 0 if none
    wire_y0: float
    pacemaker: bool
    pm_xy: tuple[float, float]
    stomach: tuple[float, float, float]  # x, dy, radius of gastric bubble


@dataclass
class Study:
    """Per-study acquisition (not identity) and findings (independent of identity)."""

    shift: tuple[float, float]
    rot: float
    scale: float
    inspiration: float
    kvp_gain: float
    gamma: float
    offset: float
    noise: float
    blur: float
    nodules: list[tuple[float, float, float, float]] = field(default_factory=list)  # x, y, r, dens
    effusion: tuple[int, float] | None = None  # side (0 right=image left, 1 left), depth
    opacity: tuple[float, float, float, int] | None = None  # x, y, radius, noise seed
    electrodes: list[tuple[float, float]] = field(default_factory=list)


N_RIBS = 10
_TEX = 64


def _smooth_field(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    f = ndimage.gaussian_filter(rng.standard_normal((n, n)), sigma, mode="wrap")
    f -= f.mean()
    return (f / (np.abs(f).max() + 1e-9)).astype(np.float32)


def sample_anatomy(rng: np.random.Generator, device_rate: float = 0.2) -> Anatomy:
    u = rng.uniform
    lung_top = u(-0.78, -0.62)
    bottom = u(0.38, 0.6)
    asym = u(0.02, 0.09)
    has_dev = rng.random() < device_rate
    wires = int(rng.integers(4, 8)) if has_dev and rng.random() < 0.6 else 0
    pacemaker = bool(has_dev and (wires == 0 or rng.random() < 0.3))
    bone_tex = 0.6 * _smooth_field(rng, _TEX, 1.2) + 0.4 * _smooth_field(rng, _TEX, 3.0)
    lung_tex = 0.7 * _smooth_field(rng, _TEX, 1.0) + 0.3 * _smooth_field(rng, _TEX, 2.5)
    return Anatomy(
        body_w=u(0.86, 1.05),
        neck_w=u(0.16, 0.24),
        shoulder_y=u(-0.9, -0.72),
        lung_cx=(-u(0.36, 0.46), u(0.36, 0.46)),
        lung_rx=(u(0.3, 0.4), u(0.28, 0.38)),
        lung_top=(lung_top + u(-0.03, 0.03), lung_top + u(-0.03, 0.03)),
        lung_bottom=(bottom - asym, bottom),
        lung_exp=u(1.7, 2.8),
        apex_narrow=u(0.35, 0.65),
        dome=(u(0.06, 0.16), u(0.06, 0.16)),
        heart_c=(u(0.04, 0.16), u(0.14, 0.3)),
        heart_r=(u(0.2, 0.32), u(0.17, 0.26)),
        heart_rot=u(-0.5, -0.1),
        knob_r=u(0.05, 0.08),
        spine_w=u(0.065, 0.095),
        vert_period=u(0.085, 0.11),
        vert_phase=u(0, 1),
        rib_y0=u(-0.78, -0.66),
        rib_spacing=u(0.105, 0.14),
        rib_slope=u(-0.35, -0.05),
        rib_curv=u(0.55, 1.1),
        rib_w=u(0.014, 0.022),
        rib_jitter=np.stack([
            rng.normal(0, 0.012, (2, N_RIBS)),
            rng.normal(0, 0.08, (2, N_RIBS)),
            rng.normal(0, 0.003, (2, N_RIBS)),
        ], axis=-1).astype(np.float32),
        clav_y=u(-0.72, -0.6),
        clav_angle=u(-0.35, 0.05),
        clav_len=u(0.38, 0.55),
        clav_w=u(0.025, 0.038),
        bone_density=u(0.8, 1.2),
        soft_density=u(0.85, 1.15),
        bone_tex=bone_tex,
        lung_tex=lung_tex,
        wires=wires,
        wire_y0=u(-0.55, -0.45),
        pacemaker=pacemaker,
        pm_xy=(u(0.35, 0.55), u(-0.62, -0.48)),
        stomach=(u(0.25, 0.45), u(0.08, 0.16), u(0.06, 0.11)),
    )


def sample_study(rng: np.random.Generator, prevalence: tuple[float, float, float]) -> Study:
    u = rng.uniform
    st = Study(
        shift=(u(-0.06, 0.06), u(-0.06, 0.06)),
        rot=math.radians(u(-4.0, 4.0)),
        scale=u(0.93, 1.07),
        inspiration=u(0.86, 1.06),
        kvp_gain=u(0.85, 1.15),
        gamma=u(0.8, 1.25),
        offset=u(-0.04, 0.04),
        noise=u(0.008, 0.03),
        blur=u(0.3, 0.9),
    )
    if rng.random() < prevalence[0]:
        for _ in range(int(rng.integers(1, 4))):
            st.nodules.append((u(-1, 1), u(0, 1), u(0.04, 0.07), u(0.6, 1.0)))
    if rng.random() < prevalence[1]:
        st.effusion = (int(rng.integers(0, 2)), u(0.08, 0.25))
    if rng.random() < prevalence[2]:
        st.opacity = (u(-1, 1), u(0, 1), u(0.13, 0.24), int(rng.integers(0, 2**31 - 1)))
    for _ in range(int(rng.integers(0, 4))):  # ECG electrodes: per study, not identity
        st.electrodes.append((u(-0.8, 0.8), u(-0.6, 0.7)))
    return st


# --------------------------------------------------------------------------- rendering


def _sig(x: np.ndarray, edge: float) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(x / edge))


def _band(d: np.ndarray, half: float, edge: float) -> np.ndarray:
    """Smooth slab of half-width ``half`` around d = 0."""
    return _sig(half - np.abs(d), edge)


def _sample_tex(tex: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    n = tex.shape[0]
    coords = np.stack([(Y + 1) * 0.5 * (n - 1), (X + 1) * 0.5 * (n - 1)])
    return ndimage.map_coordinates(tex, coords, order=1, mode="wrap")


def _lung_field(a: Anatomy, X: np.ndarray, Y: np.ndarray, insp: float, edge: float):
    """Both lung fields (soft masks) and the diaphragm line, at inspiration ``insp``."""
    lungs = []
    for side in (0, 1):
        cx, rx = a.lung_cx[side], a.lung_rx[side]
        top = a.lung_top[side]
        bottom = top + (a.lung_bottom[side] - top) * insp
        cy, ry = (top + bottom) / 2, (bottom - top) / 2
        t = np.clip((Y - top) / (bottom - top), 0, 1)
        rxy = rx * (1 - a.apex_narrow * (1 - t) ** 3)  # narrow apex, broad base
        lateral = np.sign(cx)
        dx = (X - cx) / rxy
        # lateral wall straighter than medial one
        dx = np.where(np.sign(dx) == lateral, dx * 0.92, dx)
        f = np.abs(dx) ** a.lung_exp + np.abs((Y - cy) / ry) ** a.lung_exp
        inside = _sig(1 - f, edge * 3)
        # diaphragm dome: highest medially-central, costophrenic angle lateral and deep
        xn = np.clip((X - cx) / rx, -1.2, 1.2)
        yd = bottom - a.dome[side] * insp * (1 - xn**2) + 0.05 * np.maximum(lateral * xn, 0)
        inside = inside * _sig(yd - Y, edge)
        lungs.append(inside)
    return lungs


def render(a: Anatomy, st: Study, size: int, *, noise_rng: np.random.Generator):
    """Render one study. Returns (image float32 [0,1], label map uint8, lung mask uint8, info)."""
    lin = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
    Yi, Xi = np.meshgrid(lin, lin, indexing="ij")
    # image -> body coordinates (inverse of the study's similarity transform)
    c, s = math.cos(st.rot), math.sin(st.rot)
    xs, ys = (Xi - st.shift[0]) / st.scale, (Yi - st.shift[1]) / st.scale
    X = (c * xs + s * ys).astype(np.float32)
    Y = (-s * xs + c * ys).astype(np.float32)
    px = 2.0 / size / st.scale  # one pixel in body units
    edge = max(px, 0.006)

    # body outline with neck and shoulders
    bw = np.where(
        Y > a.shoulder_y + 0.25,
        a.body_w,
        a.neck_w + (a.body_w - a.neck_w) * _sig(Y - a.shoulder_y, 0.08),
    )
    body = _sig(bw - np.abs(X), edge * 2) * _sig(Y + 1.3, edge)
    thick = np.sqrt(np.clip(1 - (X / (bw + 0.04)) ** 2, 0, 1))  # cylinder-like chest wall
    soft = body * (0.35 + 0.65 * thick) * a.soft_density
    # abdomen / diaphragm region denser, shoulders a little denser
    soft += body * 0.15 * _sig(Y - max(a.lung_bottom), 0.1)
    # humeral heads at the top corners
    for sx in (-1, 1):
        hx, hy = sx * (a.body_w - 0.02), a.shoulder_y + 0.12
        soft += 0.15 * _sig(0.11 - np.hypot(X - hx, Y - hy), edge * 3) * a.bone_density

    lungR, lungL = _lung_field(a, X, Y, st.inspiration, edge)
    lung = np.clip(lungR + lungL, 0, 1)

    # heart silhouette (rotated ellipse) + aortic knob; low inspiration makes it look broader
    hx, hy = a.heart_c[0], a.heart_c[1] + (1 - st.inspiration) * 0.3
    cr, sr = math.cos(a.heart_rot), math.sin(a.heart_rot)
    dx, dy = X - hx, Y - hy
    u_, v_ = cr * dx + sr * dy, -sr * dx + cr * dy
    hr = (a.heart_r[0] * (1 + 0.5 * (1 - st.inspiration)), a.heart_r[1])
    heart = _sig(1 - (u_ / hr[0]) ** 2 - (v_ / hr[1]) ** 2, 0.12)
    knob = _sig(a.knob_r - np.hypot(X - 0.1, Y - (a.lung_top[1] + 0.32)), edge * 2)
    medi = np.clip(heart + knob, 0, 1)

    # lung markings: patient texture + vessels fanning out from the hila
    tex = _sample_tex(a.lung_tex, X, Y)
    hil = np.minimum(np.hypot(X + 0.18, Y + 0.05), np.hypot(X - 0.18, Y + 0.02))
    # zero-crossings of a smooth random field form worm-like lines: vascular markings that
    # taper towards the periphery
    lines = np.exp(-((tex / 0.07) ** 2)) * np.exp(-hil / 0.55)
    vessel = np.clip(0.45 * np.exp(-hil / 0.2) + 0.45 * lines + 0.1 * tex, -0.3, 1)
    air = lung * (1 - medi) * (1.0 - 0.45 * vessel)

    # bones: spine, ribs, clavicles, with patient bone texture
    btex = 1 + 0.25 * _sample_tex(a.bone_tex, X, Y)
    vert = 0.65 + 0.35 * np.cos(2 * np.pi * (Y / a.vert_period + a.vert_phase)) ** 2
    spine = 0.6 * _band(X, a.spine_w, edge * 2) * vert * _sig(Y + 0.95, 0.05)
    ribs = np.zeros_like(X)
    ax = np.abs(X)
    side_idx = (X > 0).astype(np.intp)
    for k in range(N_RIBS):
        j = a.rib_jitter[:, k]  # (2, 3)
        jy, jc, jw = j[side_idx, 0], j[side_idx, 1], j[side_idx, 2]
        y0 = a.rib_y0 + k * a.rib_spacing * (0.75 + 0.25 * st.inspiration) + jy
        d = ax - 0.05
        yr = y0 + a.rib_slope * d * 0.4 + (a.rib_curv + jc) * d**2 * (1 + 0.04 * k)
        w = a.rib_w + jw + 0.001 * k
        rib = _band(Y - yr, w, edge) * _sig(d, edge) * _sig(a.body_w * 0.95 - ax, 0.03)
        # cortical rim brighter than the medulla
        rim = _band(np.abs(Y - yr) - w, 0.25 * w, edge)
        ribs = np.maximum(ribs, 0.75 * rib + 0.35 * rim * _sig(d, edge))
        # anterior ribs: faint, sloping down towards the midline
        ya = y0 + 0.2 + 0.225 * np.clip(0.8 - ax, 0, None) ** 1.5
        ribs = np.maximum(ribs, 0.22 * _band(Y - ya, w * 1.3, edge * 2) * _sig(ax - 0.15, 0.05)
                          * _sig(0.8 - ax, 0.05))
    clav = np.zeros_like(X)
    for sx in (-1, 1):
        t = (sx * X - 0.1) / a.clav_len
        yc = a.clav_y + a.clav_angle * t * a.clav_len + 0.05 * np.sin(np.pi * t) * (t > 0)
        clav = np.maximum(clav, _band(Y - yc, a.clav_w, edge) * _sig(t, 0.02) * _sig(1 - t, 0.02))
    inner = _sig(a.body_w * 0.8 - ax, 0.06)  # ribs fade towards the chest wall and abdomen
    bones = (0.45 * spine + 0.2 * ribs * (0.35 + 0.65 * lung) * (0.5 + 0.5 * inner)
             + 0.35 * clav) * btex
    bones = bones * a.bone_density * body

    # findings: drawn inside the lung fields, independent of the patient
    label = np.zeros(X.shape, dtype=np.uint8)
    lesion = np.zeros_like(X)
    lung_hard = lung > 0.5
    nodule_xy = (-1.0, -1.0)
    biggest = 0.0
    for nx, ny, nr, nd in st.nodules:
        side = 0 if nx < 0 else 1
        cx = a.lung_cx[side] + 0.55 * a.lung_rx[side] * abs(nx) * np.sign(nx) * 0.9
        top = a.lung_top[side]
        cy = top + (a.lung_bottom[side] - top) * st.inspiration * (0.2 + 0.55 * ny)
        r = np.hypot(X - cx, Y - cy)
        blob = _sig(nr - r, edge * 1.5)
        lesion += nd * blob
        m = (r < nr) & lung_hard
        label[m] |= FINDING_BITS["nodule"]
        if nr > biggest and m.any():
            biggest = nr
            yy, xx = np.nonzero(m)
            nodule_xy = (float(xx.mean() + 0.5) / size, float(yy.mean() + 0.5) / size)
    if st.effusion is not None:
        side, depth = st.effusion
        lf = (lungR, lungL)[side]
        cx, rx = a.lung_cx[side], a.lung_rx[side]
        top = a.lung_top[side]
        bottom = top + (a.lung_bottom[side] - top) * st.inspiration
        lat = np.clip(np.sign(cx) * (X - cx) / rx, -1, 1)
        level = bottom - a.dome[side] * st.inspiration - depth * (0.6 + 0.4 * (lat + 1) / 2)  # meniscus rises laterally
        fluid = lf * _sig(Y - level, 0.025)
        lesion += 1.1 * fluid
        label[(fluid > 0.5)] |= FINDING_BITS["effusion"]
    if st.opacity is not None:
        ox, oy, orad, oseed = st.opacity
        side = 0 if ox < 0 else 1
        cx = a.lung_cx[side] + 0.5 * a.lung_rx[side] * abs(ox) * np.sign(ox)
        top = a.lung_top[side]
        cy = top + (a.lung_bottom[side] - top) * st.inspiration * (0.25 + 0.5 * oy)
        orng = np.random.default_rng(oseed)
        blob_tex = _sample_tex(_smooth_field(orng, 32, 2.0), (X - cx) / orad * 0.25,
                               (Y - cy) / orad * 0.25)
        field_ = 1 - np.hypot(X - cx, Y - cy) / orad + 0.45 * blob_tex
        opac = _sig(field_, 0.12) * lung
        lesion += 0.8 * opac
        label[(field_ > 0) & lung_hard] |= FINDING_BITS["opacity"]

    # devices
    dev = np.zeros_like(X)
    for w in range(a.wires):
        wy = a.wire_y0 + w * 0.085
        rr = np.hypot((X - 0.0) / 0.028, (Y - wy) / 0.018)
        dev = np.maximum(dev, _band(rr - 1, 0.28, 0.08))
    if a.pacemaker:
        pxc, pyc = a.pm_xy
        box = np.maximum(np.abs(X - pxc) / 0.085, np.abs(Y - pyc) / 0.06)
        dev = np.maximum(dev, 1.2 * _sig(1 - box, 0.05))
        # lead from the generator to the right ventricle: a quadratic curve
        tt = np.clip((X - 0.0) / max(pxc, 1e-3), 0, 1)
        yl = pyc + (a.heart_c[1] + 0.08 - pyc) * (1 - tt) ** 1.5
        dev = np.maximum(dev, _band(Y - yl, 0.009, edge) * _sig(X + 0.02, 0.01)
                         * _sig(pxc - X, 0.01))
    for ex, ey in st.electrodes:
        rr = np.hypot(X - ex, Y - ey)
        dev = np.maximum(dev, 0.5 * _band(rr - 0.03, 0.008, edge) + 0.3 * _sig(0.012 - rr, edge))

    # gastric bubble under the left hemidiaphragm
    sbx, sbdy, sbr = a.stomach
    bottom_l = a.lung_top[1] + (a.lung_bottom[1] - a.lung_top[1]) * st.inspiration
    bubble = _sig(sbr - np.hypot((X - sbx) / 1.3, Y - (bottom_l + sbdy)), 0.02)

    # attenuation -> detector signal (log-compressed like a processed radiograph)
    att = 1.0 * soft - 0.62 * air + bones + 0.5 * lesion + 1.3 * dev - 0.25 * bubble
    att = np.clip(att, 0, None)
    img = (1 - np.exp(-st.kvp_gain * 2.2 * att)) ** 1.6
    img = ndimage.gaussian_filter(img, st.blur * size / 256)
    img = np.clip(img + st.offset, 0, 1) ** st.gamma
    img = img + noise_rng.normal(0, st.noise, img.shape) * (0.4 + 0.6 * np.sqrt(img + 1e-4))
    img = np.clip(img * 0.92 + 0.03, 0, 1).astype(np.float32)

    lung_mask = lung_hard.astype(np.uint8)
    lung_area = float(lung_mask.sum())
    severity = float((label > 0).sum()) / max(lung_area, 1.0)
    info = {
        "nodule": int(bool((label & FINDING_BITS["nodule"]).any())),
        "effusion": int(bool((label & FINDING_BITS["effusion"]).any())),
        "opacity": int(bool((label & FINDING_BITS["opacity"]).any())),
        "severity": round(severity, 6),
        "nodule_x": round(nodule_xy[0], 6),
        "nodule_y": round(nodule_xy[1], 6),
    }
    return img, label, lung_mask, info


# --------------------------------------------------------------------------- cohort


def _patient_rng(seed: int, index: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, index, stream])


def assign_splits(n: int, seed: int, fractions: tuple[float, float, float]) -> list[str]:
    """Patient index -> split name, patient-disjoint by construction."""
    order = np.random.default_rng([seed, 991]).permutation(n)
    n_train = max(1, int(round(fractions[0] * n)))
    n_val = max(1, int(round(fractions[1] * n)))
    n_train = min(n_train, n - 2)
    n_val = min(n_val, n - n_train - 1)
    out = [""] * n
    for rank, idx in enumerate(order):
        out[idx] = "train" if rank < n_train else "val" if rank < n_train + n_val else "test"
    return out


@dataclass
class CohortInfo:
    root: Path
    config: CohortConfig
    n_images: int
    splits: dict[str, list[str]]
    seconds: float


def generate_cohort(out: str | Path, config: CohortConfig = CohortConfig(), *,
                    progress=None, write_dicom: bool = True) -> CohortInfo:
    """Render the cohort and write DICOM + labels + masks under ``out`` (created if needed).

    Refuses to write into a non-empty folder that is not already a cohort, so an existing
    directory of someone's files is never mixed with generated ones.
    """
    import time

    from medeid_gui.lab.cohort_dicom import FakePerson, write_study_dicom

    config.validate()
    root = Path(out)
    if root.exists() and any(root.iterdir()) and not (root / "cohort.json").exists():
        raise FileExistsError(f"{root} exists and is not a cohort folder; choose an empty folder")
    root.mkdir(parents=True, exist_ok=True)
    # files of an earlier cohort here, listed in its labels.csv: removed below if not rewritten
    old_files = ({r["file"] for r in read_labels(root)} if (root / "labels.csv").exists()
                 else set())
    t0 = time.perf_counter()
    splits = assign_splits(config.patients, config.seed, config.split_fractions)
    rows: list[dict] = []
    masks: dict[str, np.ndarray] = {}
    lungs: dict[str, np.ndarray] = {}
    split_ids: dict[str, list[str]] = {k: [] for k in SPLITS}
    total = config.patients * config.studies_per_patient
    done = 0
    for p in range(config.patients):
        anat = sample_anatomy(_patient_rng(config.seed, p, 0), config.device_rate)
        person = FakePerson.sample(_patient_rng(config.seed, p, 1), config.seed, p)
        split_ids[splits[p]].append(person.patient_id)
        study_rng = _patient_rng(config.seed, p, 2)
        for k in range(config.studies_per_patient):
            st = sample_study(study_rng, config.prevalence)
            img, label, lung, info = render(
                anat, st, config.size, noise_rng=_patient_rng(config.seed, p, 100 + k))
            image_id = f"{person.patient_id}_{k}"
            rel = Path("dicom") / person.patient_id / f"{k}.dcm"
            if write_dicom:
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                write_study_dicom(root / rel, img, person, k, seed=config.seed)
            masks[image_id] = label
            lungs[image_id] = lung
            rows.append({
                "image_id": image_id, "file": rel.as_posix(), "patient_id": person.patient_id,
                "patient_index": p, "study_index": k, "split": splits[p], **info,
            })
            done += 1
            if progress:
                progress(done, total)
    for rel_old in sorted(old_files - {r["file"] for r in rows}):
        stale = root / rel_old
        if stale.is_file() and stale.resolve().is_relative_to(root.resolve()):
            stale.unlink()
            if stale.parent != root and not any(stale.parent.iterdir()):
                stale.parent.rmdir()
    with open(root / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(LABEL_COLUMNS))
        w.writeheader()
        w.writerows(rows)
    np.savez_compressed(root / "masks.npz", **masks)
    np.savez_compressed(root / "lungs.npz", **lungs)
    meta = {
        "generator": "medeid_gui.lab.cohort", "generator_version": GENERATOR_VERSION,
        "config": asdict(config), "n_images": len(rows), "splits": split_ids,
        "finding_bits": FINDING_BITS,
    }
    (root / "cohort.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return CohortInfo(root, config, len(rows), split_ids, time.perf_counter() - t0)


# --------------------------------------------------------------------------- loading


@dataclass
class CohortSplit:
    """One split as arrays. ``patients`` is the identity label for the attacker."""

    images: np.ndarray
    patients: np.ndarray
    image_ids: list[str]
    findings: np.ndarray
    severity: np.ndarray
    nodule_xy: np.ndarray
    masks: np.ndarray
    label_maps: np.ndarray

    def __len__(self) -> int:
        return len(self.image_ids)


def read_labels(root: str | Path) -> list[dict]:
    with open(Path(root) / "labels.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def area_resize(a: np.ndarray, size: int) -> np.ndarray:
    """Resize (..., H, W) to (..., size, size): block mean when H is a multiple, else bilinear."""
    h = a.shape[-1]
    if h == size:
        return a
    if h % size == 0:
        f = h // size
        sh = a.shape[:-2] + (size, f, size, f)
        return a.reshape(sh).mean(axis=(-1, -3))
    zoom = [1.0] * (a.ndim - 2) + [size / a.shape[-2], size / a.shape[-1]]
    return ndimage.zoom(a, zoom, order=1)


def read_pixels(path: str | Path) -> np.ndarray:
    """A cohort DICOM's pixels as float32 in [0, 1] (stored value / max stored value)."""
    import pydicom

    ds = pydicom.dcmread(str(path))
    arr = ds.pixel_array.astype(np.float32)
    return arr / float((1 << int(ds.BitsStored)) - 1)


def load_split(root: str | Path, split: str, size: int | None = None) -> CohortSplit:
    """Load one split (``train``/``val``/``test``, or ``all``) from the DICOM files."""
    root = Path(root)
    if split not in SPLITS + ("all",):
        raise ValueError(f"unknown split {split!r}; use one of {SPLITS + ('all',)}")
    rows = [r for r in read_labels(root) if split == "all" or r["split"] == split]
    if not rows:
        raise ValueError(f"split {split!r} of {root} has no images")
    maps = np.load(root / "masks.npz")
    imgs = np.stack([read_pixels(root / r["file"]) for r in rows])
    lm = np.stack([maps[r["image_id"]] for r in rows])
    binm = (lm > 0).astype(np.float32)
    if size is not None:
        imgs = area_resize(imgs, size).astype(np.float32)
        binm = area_resize(binm, size)
        lm = np.stack([lm[i][np.ix_(*(np.linspace(0, lm.shape[-1] - 1, size).round().astype(int),) * 2)]
                       for i in range(len(lm))]) if lm.shape[-1] != size else lm
    return CohortSplit(
        images=np.ascontiguousarray(imgs, dtype=np.float32),
        patients=np.array([int(r["patient_index"]) for r in rows], dtype=np.int64),
        image_ids=[r["image_id"] for r in rows],
        findings=np.array([[float(r[f]) for f in FINDINGS] for r in rows], dtype=np.float32),
        severity=np.array([float(r["severity"]) for r in rows], dtype=np.float32),
        nodule_xy=np.array([[float(r["nodule_x"]), float(r["nodule_y"])] for r in rows],
                           dtype=np.float32),
        masks=(binm >= 0.5).astype(np.uint8),
        label_maps=lm.astype(np.uint8),
    )
