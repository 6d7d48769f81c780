"""import_images: PNG/JPEG + CSV -> valid Secondary Capture DICOM with the images' own values.

Built on a small folder written with Pillow in tmp_path (8/16-bit grey, colour, grey-as-RGB,
JPEG, transparent, corrupt, missing), plus 10 images of the real CXR set when it is present.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from medeid_gui.dicom.image_files import ImageFileError, read_image_file
from medeid_gui.dicom.import_images import (
    SECONDARY_CAPTURE,
    ImportOptions,
    ImportSetupError,
    image_name_of,
    import_images,
    licence_of,
    uid_from,
    view_position,
    write_report,
)

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "real" / "cxr"
needs_dciodvfy = pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy not installed")

FIELDS = ["image", "patientid", "offset", "sex", "age", "finding", "view", "license", "source_filename", "doi"]


def _errors(path: Path) -> list[str]:
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, check=False)
    return [ln for ln in (out.stdout + out.stderr).splitlines() if ln.startswith("Error")]


def _grey8(seed: int, shape=(40, 30)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.fixture
def folder(tmp_path: Path) -> dict:
    """Images + CSV covering every path: returns arrays written, keyed by file name."""
    img = tmp_path / "images"
    img.mkdir()
    arrays: dict[str, np.ndarray] = {}
    arrays["p1_d0_pa.png"] = _grey8(1)
    arrays["p1_d0_lat.png"] = _grey8(2, (30, 40))
    arrays["p1_d7_ap.png"] = _grey8(3)
    arrays["p2_nodate.png"] = _grey8(4)
    for name in ("p1_d0_pa.png", "p1_d0_lat.png", "p1_d7_ap.png", "p2_nodate.png"):
        Image.fromarray(arrays[name]).save(img / name)
    g16 = np.random.default_rng(5).integers(0, 65536, (20, 24), dtype=np.uint16)
    arrays["p2_16bit.png"] = g16
    Image.fromarray(g16).save(img / "p2_16bit.png")
    colour = np.random.default_rng(6).integers(0, 256, (16, 18, 3), dtype=np.uint8)
    arrays["p3_colour.png"] = colour
    Image.fromarray(colour).save(img / "p3_colour.png")
    grey_rgb = np.repeat(_grey8(7, (16, 18))[..., None], 3, axis=2)
    arrays["p3_greyrgb.png"] = grey_rgb[..., 0]
    Image.fromarray(grey_rgb).save(img / "p3_greyrgb.png")
    Image.fromarray(_grey8(8)).save(img / "p4.jpg", quality=90)
    arrays["p4.jpg"] = np.asarray(Image.open(img / "p4.jpg"))
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 3] = 128
    Image.fromarray(rgba).save(img / "p5_transparent.png")
    (img / "p5_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    Image.fromarray(_grey8(9)).save(img / "unlisted.png")
    rows = [
        ["p1_d0_pa.png", "P1", "0", "M", "65", "COVID-19", "PA", "CC BY", "paper1.jpg", "10.1/x"],
        ["p1_d0_lat.png", "P1", "0", "M", "65", "COVID-19", "L", "CC BY", "paper1b.jpg", ""],
        ["p1_d7_ap.png", "P1", "7", "M", "65", "COVID-19", "AP Supine", "", "", ""],
        ["p2_nodate.png", "P2", "", "F", "", "No Finding", "PA", "CC BY-NC-SA", "", ""],
        ["p2_16bit.png", "P2", "3", "F", "40.5", "", "PA", "", "", ""],
        ["p3_colour.png", "P3", "0", "", "", "", "AP", "", "", ""],
        ["p3_greyrgb.png", "P3", "0", "", "", "", "AP", "", "", ""],
        ["p4.jpg", "P4", "0", "", "", "", "PA", "", "", ""],
        ["p5_transparent.png", "P5", "0", "", "", "", "PA", "", "", ""],
        ["p5_corrupt.png", "P5", "1", "", "", "", "PA", "", "", ""],
        ["p5_missing.png", "P5", "2", "", "", "", "PA", "", "", ""],
        ["p1_d0_pa.png", "P9", "0", "", "", "", "PA", "", "", ""],  # duplicate image
        ["p6.png", "", "0", "", "", "", "PA", "", "", ""],  # no patient
        ["p2_16bit.png", "P2", "x", "", "", "", "PA", "", "", ""],  # bad offset
    ]
    meta = tmp_path / "meta.csv"
    with open(meta, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(FIELDS)
        w.writerows(rows)
    return {"images": img, "csv": meta, "arrays": arrays, "root": tmp_path}


def test_rows_become_studies_series_and_reasons(folder: dict) -> None:
    out = folder["root"] / "out"
    result = import_images(folder["images"], folder["csv"], out, ImportOptions(body_part="CHEST"))
    status = {(o.row, o.image): (o.status, o.reason) for o in result.outcomes}
    assert result.written == 8
    assert status[(9, "p5_transparent.png")][0] == "skipped" and "transparent" in status[(9, "p5_transparent.png")][1]
    assert "cannot decode" in status[(10, "p5_corrupt.png")][1]
    assert status[(11, "p5_missing.png")] == ("skipped", "image file not found")
    assert "already named by row 1" in status[(12, "p1_d0_pa.png")][1]
    assert status[(13, "p6.png")] == ("skipped", "no patient id")
    assert "not a whole number" in status[(14, "p2_16bit.png")][1]
    assert status[(None, "unlisted.png")][0] == "unlisted"
    assert [o.image for o in result.outcomes if o.status == "unlisted"] == ["unlisted.png"]

    files = {o.image: pydicom.dcmread(o.output) for o in result.outcomes if o.status == "written"}
    pa, lat, ap = files["p1_d0_pa.png"], files["p1_d0_lat.png"], files["p1_d7_ap.png"]
    # one study per (patient, day), one series per view
    assert pa.StudyInstanceUID == lat.StudyInstanceUID != ap.StudyInstanceUID
    assert pa.SeriesInstanceUID != lat.SeriesInstanceUID
    assert (pa.ViewPosition, lat.ViewPosition, ap.ViewPosition) == ("PA", "LATERAL", "AP")
    assert ap.SeriesDescription == "AP Supine"
    # no day: its own study, never merged with P2's day-3 image
    assert files["p2_nodate.png"].StudyInstanceUID != files["p2_16bit.png"].StudyInstanceUID
    assert pa.SOPClassUID == SECONDARY_CAPTURE and pa.Modality == "DX" and pa.ConversionType == "WSD"
    assert pa.PatientID == "P1" and pa.PatientSex == "M" and pa.PatientAge == "065Y"
    assert files["p2_16bit.png"].PatientAge == "040Y"
    assert pa.BodyPartExamined == "CHEST" and "BurnedInAnnotation" not in pa
    assert licence_of(pa) == "CC BY" and "source_filename: paper1.jpg" in pa.ImageComments
    assert licence_of(ap) == "not stated" and image_name_of(ap) == "p1_d7_ap.png"
    assert files["p4.jpg"].LossyImageCompression == "01" and "LossyImageCompression" not in pa


def test_pixels_are_the_files_own_values(folder: dict) -> None:
    out = folder["root"] / "out"
    result = import_images(folder["images"], folder["csv"], out)
    arrays = folder["arrays"]
    for o in result.outcomes:
        if o.status != "written":
            continue
        ds = pydicom.dcmread(o.output)
        px = ds.pixel_array
        want = arrays[o.image]
        assert px.dtype == want.dtype and np.array_equal(px, want), o.image
        assert ds.BitsStored == (16 if want.dtype == np.uint16 else 8)
    colour = pydicom.dcmread(next(o.output for o in result.outcomes if o.image == "p3_colour.png"))
    assert colour.PhotometricInterpretation == "RGB" and colour.SamplesPerPixel == 3
    grey = pydicom.dcmread(next(o.output for o in result.outcomes if o.image == "p3_greyrgb.png"))
    assert grey.PhotometricInterpretation == "MONOCHROME2"


def test_reimport_gives_the_same_bytes_and_never_overwrites(folder: dict) -> None:
    a, b = folder["root"] / "a", folder["root"] / "b"
    ra = import_images(folder["images"], folder["csv"], a)
    rb = import_images(folder["images"], folder["csv"], b)
    written = [o for o in ra.outcomes if o.status == "written"]
    assert written
    for o in written:
        rel = Path(o.output).relative_to(a)
        assert (a / rel).read_bytes() == (b / rel).read_bytes()
    assert [o.sop_instance_uid for o in ra.outcomes] == [o.sop_instance_uid for o in rb.outcomes]
    target = Path(written[0].output)
    target.write_bytes(b"keep me")
    again = import_images(folder["images"], folder["csv"], a)
    assert again.written == 0 and target.read_bytes() == b"keep me"
    assert any("use --force" in o.reason for o in again.outcomes)
    forced = import_images(folder["images"], folder["csv"], a, ImportOptions(force=True))
    assert forced.written == len(written)
    assert target.read_bytes() == (b / target.relative_to(a)).read_bytes()


@needs_dciodvfy
def test_outputs_pass_dciodvfy(folder: dict) -> None:
    result = import_images(folder["images"], folder["csv"], folder["root"] / "out",
                           ImportOptions(body_part="CHEST", base_date=__import__("datetime").date(2020, 1, 1)))
    for o in result.outcomes:
        if o.status == "written":
            assert _errors(Path(o.output)) == [], o.image


def test_base_date_and_column_mapping(folder: dict, tmp_path: Path) -> None:
    import datetime as dt

    meta = tmp_path / "other.csv"
    with open(meta, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "subject", "acq_date", "projection", "orientation"])
        w.writerow(["p1_d0_pa.png", "S1", "2021-03-04", "PA", "L\\F"])
        w.writerow(["p1_d7_ap.png", "S1", "20210304", "AP", "bogus"])
    opts = ImportOptions(columns={"image": "file", "patient": "subject", "date": "acq_date",
                                  "view": "projection", "orientation": "orientation"})
    result = import_images(folder["images"], meta, tmp_path / "o", opts)
    assert result.written == 2
    a, b = (pydicom.dcmread(o.output) for o in result.outcomes if o.status == "written")
    assert a.StudyDate == b.StudyDate == "20210304" and a.StudyInstanceUID == b.StudyInstanceUID
    assert list(a.PatientOrientation) == ["L", "F"] and not b.PatientOrientation
    # offset + base date
    result = import_images(folder["images"], folder["csv"], tmp_path / "o2",
                           ImportOptions(base_date=dt.date(2020, 1, 30)))
    ap = next(o for o in result.outcomes if o.image == "p1_d7_ap.png")
    assert pydicom.dcmread(ap.output).StudyDate == "20200206"


def test_same_file_names_in_subfolders_do_not_collide(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / "img" / sub).mkdir(parents=True)
        Image.fromarray(_grey8(ord(sub))).save(tmp_path / "img" / sub / "x.png")
    meta = tmp_path / "m.csv"
    meta.write_text("image,patientid,offset,view\na/x.png,P/1,0,PA\nb/x.png,P_1,0,PA\n")
    result = import_images(tmp_path / "img", meta, tmp_path / "o")
    assert result.written == 2
    outs = [Path(o.output) for o in result.outcomes]
    assert outs[0].parent == outs[1].parent and outs[0] != outs[1]
    assert {pydicom.dcmread(p).PatientID for p in outs} == {"P/1", "P_1"}


def test_setup_errors(folder: dict, tmp_path: Path) -> None:
    with pytest.raises(ImportSetupError, match="no patient column"):
        import_images(folder["images"], folder["csv"], tmp_path / "o",
                      ImportOptions(columns={"image": "image", "patient": "subject"}))
    with pytest.raises(ImportSetupError, match="not found"):
        import_images(tmp_path / "nope", folder["csv"], tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_report_lists_every_row(folder: dict, tmp_path: Path) -> None:
    result = import_images(folder["images"], folder["csv"], tmp_path / "o")
    write_report(result, tmp_path / "r.csv")
    rows = _rows(tmp_path / "r.csv")
    assert len(rows) == 15  # 14 rows + 1 unlisted file
    assert {r["status"] for r in rows} == {"written", "skipped", "unlisted"}


def test_helpers() -> None:
    assert uid_from("a", 1) == uid_from("a", 1) != uid_from("a", 2)
    assert uid_from("x").startswith("2.25.") and len(uid_from("x")) <= 64
    assert view_position("ap  supine") == "AP" and view_position("L") == "LATERAL"
    assert view_position("odd/view") == ""


def test_read_image_file_refuses_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    with pytest.raises(ImageFileError, match="not an image"):
        read_image_file(tmp_path / "a.txt")
    frames = [Image.fromarray(_grey8(i, (8, 8))) for i in range(2)]
    frames[0].save(tmp_path / "multi.gif", save_all=True, append_images=frames[1:])
    with pytest.raises(ImageFileError, match="2 frames"):
        read_image_file(tmp_path / "multi.gif")
    Image.fromarray(np.full((4, 4), 1.5, np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(ImageFileError, match="not supported"):
        read_image_file(tmp_path / "f.tif")
    pal = Image.fromarray(_grey8(3, (6, 6))).convert("P")
    pal.save(tmp_path / "pal.png")
    got = read_image_file(tmp_path / "pal.png")
    assert got.pixels.ndim == 2 and np.array_equal(got.pixels, np.asarray(pal.convert("L")))


@needs_dciodvfy
@pytest.mark.skipif(not (REAL / "metadata.csv").is_file(), reason="real CXR set not present at ../shared/real/cxr")
def test_ten_real_images(tmp_path: Path) -> None:
    with open(REAL / "metadata.csv", newline="") as fh:
        lines = fh.readlines()
    meta = tmp_path / "ten.csv"
    meta.write_text("".join(lines[:11]))
    result = import_images(REAL / "images", meta, tmp_path / "o", ImportOptions(body_part="CHEST"))
    assert result.written == 10 and result.skipped == 0
    rows = _rows(meta)
    for o, row in zip([o for o in result.outcomes if o.status == "written"], rows):
        ds = pydicom.dcmread(o.output)
        assert ds.PatientID == row["patientid"]
        assert np.array_equal(ds.pixel_array, np.asarray(Image.open(REAL / "images" / row["image"])))
        assert _errors(Path(o.output)) == []


def _rows(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))
