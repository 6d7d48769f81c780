"""Task teachers (``lab.task_teachers``) on real chest radiographs with their own labels.

Proves: the targets are the labels where an image has them and the teacher's reading of the
original elsewhere; the teachers learned something (their loss on the originals is below their
loss on the same images' median frame); the loss carries a gradient to the released frame and none
into the frozen teachers; a saved state gives the same teachers; too few labels train none.
"""

from __future__ import annotations

import numpy as np
import pytest
from real_archive import REAL

pytestmark = pytest.mark.skipif(REAL is None, reason="real CXR set not present at ../shared/real/cxr")

SIZE = 128


@pytest.fixture(scope="module")
def labelled():
    return load_labelled()


def load_labelled():
    """24 real frontal images (the first ones with a lung mask, then scored ones) with labels."""
    from PIL import Image

    from medeid_gui.dicom.image_files import read_image_file
    from medeid_gui.lab.archive_eval_tasks import TaskLabels
    from medeid_gui.lab.method_data import _to_work
    from medeid_gui.lab.real_cxr import read_metadata

    items = read_metadata(REAL / "metadata.csv")
    masked = [it for it in items if it.lung_mask][:16]
    scored = [it for it in items if it.severity_geographic is not None and not it.lung_mask][:8]
    chosen = masked + scored
    images, masks = [], []
    for it in chosen:
        px = read_image_file(REAL / "images" / it.image).pixels
        images.append(_to_work(px, SIZE))
        m = None
        if it.lung_mask:
            m = np.asarray(Image.open(REAL / "lung_masks" / it.lung_mask).convert("L")) >= 128
            m = m if m.shape == px.shape[:2] else None
        masks.append(m)
    sev = np.array([[np.nan if it.severity_geographic is None else it.severity_geographic / 8,
                     np.nan if it.severity_opacity is None else it.severity_opacity / 6]
                    for it in chosen], dtype=np.float32)
    lab = TaskLabels([it.finding for it in chosen], masks, sev)
    return np.stack(images).astype(np.float32), lab


@pytest.fixture(scope="module")
def teachers(labelled):
    from medeid_gui.lab.task_teachers import TeacherData, freeze, train_teachers

    images, lab = labelled
    return freeze(train_teachers(images, TeacherData(lab, images, lab), seed=0, epochs=40), "cpu")


def test_targets_are_labels_where_given_else_teacher_readings(labelled, teachers) -> None:
    from medeid_gui.lab.real_eval_tasks import mask_work
    from medeid_gui.lab.task_teachers import MIN_FIT, TEACHER_SIZE

    _, lab = labelled
    t = teachers.targets
    assert teachers.seg is not None and teachers.sev is not None
    midx, mw = mask_work(lab.masks, TEACHER_SIZE)
    assert len(midx) >= 4
    np.testing.assert_array_equal(t.lungs[midx], mw.astype(np.float32))
    given = ~np.isnan(lab.severity)
    np.testing.assert_array_equal(t.severity[given], np.clip(lab.severity[given], 0, 1))
    assert np.isfinite(t.severity).all()  # unscored images get the teacher's reading
    unmasked = np.setdiff1d(np.arange(len(lab.masks)), midx)
    assert teachers.fit["lungs_dice"] >= MIN_FIT and teachers.fit["severity_r"] >= MIN_FIT
    assert len(unmasked) and t.lungs[unmasked].mean() > 0.05  # pseudo-labels: lungs found
    if teachers.clf is not None:
        named = np.array([bool(f) for f in lab.finding])
        assert np.isfinite(t.finding[named]).all()


def test_teachers_read_originals_better_than_the_median_frame(labelled, teachers) -> None:
    import torch

    from medeid_gui.lab.task_teachers import teacher_loss

    images, _ = labelled
    idx = np.arange(len(images))
    x = torch.from_numpy(images)[:, None]
    median = torch.from_numpy(np.median(images, 0))[None, None].expand_as(x).contiguous()
    with torch.no_grad():
        on_orig, parts_o = teacher_loss(teachers, x, idx)
        on_median, parts_m = teacher_loss(teachers, median, idx)
    assert parts_o["lungs"] < parts_m["lungs"], (parts_o, parts_m)
    assert float(on_orig) < float(on_median)


def test_loss_has_a_gradient_to_the_frame_only(labelled, teachers) -> None:
    import torch

    from medeid_gui.lab.task_teachers import teacher_loss

    images, _ = labelled
    y = torch.from_numpy(images[:4].copy())[:, None].requires_grad_(True)
    loss, parts = teacher_loss(teachers, y, np.arange(4))
    loss.backward()
    assert y.grad is not None and float(y.grad.abs().sum()) > 0
    assert {"lungs", "sev"} <= set(parts)
    for m in (teachers.seg, teachers.sev):
        assert all(p.grad is None and not p.requires_grad for p in m.parameters())


def test_saved_state_gives_the_same_teachers(labelled, teachers) -> None:
    import torch

    from medeid_gui.lab.task_teachers import TeacherData, freeze, teacher_loss, teacher_state, train_teachers

    images, lab = labelled
    again = freeze(train_teachers(images, TeacherData(lab, images, lab), seed=0, epochs=40,
                                  state=teacher_state(teachers)), "cpu")
    x = torch.from_numpy(images[:6])[:, None]
    with torch.no_grad():
        a = teacher_loss(teachers, x, np.arange(6))[0]
        b = teacher_loss(again, x, np.arange(6))[0]
    assert float(a) == float(b)
    np.testing.assert_array_equal(again.targets.lungs, teachers.targets.lungs)


def test_a_teacher_that_fits_badly_teaches_its_labels_only(labelled) -> None:
    import torch

    from medeid_gui.lab.real_eval_tasks import mask_work
    from medeid_gui.lab.task_teachers import MIN_FIT, TEACHER_SIZE, TeacherData, freeze, teacher_loss, train_teachers

    images, lab = labelled
    weak = freeze(train_teachers(images, TeacherData(lab, images, lab), seed=0, epochs=4), "cpu")
    assert weak.fit["lungs_dice"] < MIN_FIT and "(labelled images only)" in weak.describe()
    midx, mw = mask_work(lab.masks, TEACHER_SIZE)
    unmasked = np.setdiff1d(np.arange(len(lab.masks)), midx)
    assert np.isnan(weak.targets.lungs[unmasked]).all()
    np.testing.assert_array_equal(weak.targets.lungs[midx], mw.astype(np.float32))
    with torch.no_grad():  # a batch of unlabelled images only: no lung term, still finite
        loss, parts = teacher_loss(weak, torch.from_numpy(images[unmasked])[:, None], unmasked)
    assert "lungs" not in parts and np.isfinite(float(loss))


def test_too_few_labels_train_no_teacher(labelled) -> None:
    from medeid_gui.lab.archive_eval_tasks import TaskLabels
    from medeid_gui.lab.task_teachers import TeacherData, enough_labels, train_teachers

    images, lab = labelled
    few = TaskLabels([""] * 3, [lab.masks[0], None, None], np.full((3, 2), np.nan, np.float32))
    assert not enough_labels(few)
    t = train_teachers(images[:3], TeacherData(few, images[:3], few), seed=0, epochs=1)
    assert not t.any and "lung masks: 1 training images" in t.describe()


def test_comp_stage_teachers_off_at_weight_0_and_reused_from_the_checkpoint(labelled) -> None:
    from types import SimpleNamespace

    from medeid_gui.lab.method_data import MethodData
    from medeid_gui.lab.task_teachers import TeacherData
    from medeid_gui.lab.train_comp import task_teachers
    from medeid_gui.lab.train_config import TrainConfig

    images, lab = labelled
    data = MethodData(images, np.arange(len(images)) // 2, None, None, None, "test",
                      task_data=TeacherData(lab, images, lab))
    ck = SimpleNamespace(state={"extra": {}})
    cfg = TrainConfig("", "", "", task_epochs=2)
    assert task_teachers(data, TrainConfig("", "", "", task_weight=0.0), ck, "cpu", print) is None
    assert task_teachers(MethodData(images, data.patients, None, None, None, "no labels"), cfg, ck,
                         "cpu", print) is None
    first, again = [], []
    t1 = task_teachers(data, cfg, ck, "cpu", first.append)
    assert t1 is not None and any("epoch" in line for line in first)
    assert ck.state["extra"]["task_teachers_summary"].startswith("task teachers: lungs")
    t2 = task_teachers(data, cfg, ck, "cpu", again.append)  # a resumed stage: loaded, not retrained
    assert not any("epoch" in line for line in again)
    np.testing.assert_array_equal(t1.targets.severity, t2.targets.severity)
