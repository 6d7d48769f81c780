"""The privacy level's one range check and one "does the method run?"."""

import math

import pytest

from medeid_gui.ml.privacy import check_privacy, check_series_privacy, from_percent, method_runs, to_percent


@pytest.mark.parametrize("value", [0, 0.0, 0.25, 1, "0.5"])
def test_check_privacy_accepts_the_range(value: object) -> None:
    assert check_privacy(value) == float(value)


@pytest.mark.parametrize("value", [-0.01, 1.0001, math.nan, "x", None])
def test_check_privacy_refuses_outside(value: object) -> None:
    with pytest.raises(ValueError, match="privacy"):
        check_privacy(value)


def test_series_levels_name_the_series() -> None:
    assert check_series_privacy({"1.2": 0.5}) == {"1.2": 0.5}
    assert check_series_privacy(None) == {}
    with pytest.raises(ValueError, match="series 9.9"):
        check_series_privacy({"9.9": 2})


def test_method_runs() -> None:
    assert not method_runs(0.0)
    assert method_runs(0.01)
    assert method_runs(0.0, {"a": 0.0, "b": 0.3})
    assert not method_runs(0.0, {"a": 0.0})


def test_percent_round_trip() -> None:
    assert [to_percent(from_percent(k)) for k in range(101)] == list(range(101))
    assert from_percent(150) == 1.0 and from_percent(-3) == 0.0
