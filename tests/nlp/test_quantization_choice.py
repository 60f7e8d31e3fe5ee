"""Which int8 quantization ships, and the warning when a model meets the other kind of CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp.cpu_features import cpu_has_vnni
from nlp.objections.export import PORTABLE_MARGIN, choose_quantization
from nlp.objections.model import ObjectionModel
from nlp.objections.train import MODEL_FORMAT


def scores(per_channel: float, per_channel_7bit: float) -> dict[str, float]:
    return {
        "per_tensor": 0.5,
        "per_channel": per_channel,
        "per_tensor_7bit": 0.5,
        "per_channel_7bit": per_channel_7bit,
    }


def test_seven_bit_weights_ship_when_eight_bit_ones_are_not_clearly_better() -> None:
    assert choose_quantization(scores(0.86, 0.86)) == "per_channel_7bit"
    assert choose_quantization(scores(0.86 + PORTABLE_MARGIN / 2, 0.86)) == "per_channel_7bit"
    assert choose_quantization(scores(0.80, 0.86)) == "per_channel_7bit"


def test_eight_bit_weights_ship_when_they_beat_seven_bit_by_more_than_the_margin() -> None:
    assert choose_quantization(scores(0.86 + 2 * PORTABLE_MARGIN, 0.86)) == "per_channel"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("fpu sse2 avx2 avx512f avx512_vnni avx512bw", True),
        ("fpu sse2 avx2 avx_vnni", True),
        ("fpu sse2 avx2 fma", False),
    ],
)
def test_vnni_is_read_from_the_cpu_flags(tmp_path: Path, flags: str, expected: bool) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n\n")
    assert cpu_has_vnni(info) is expected


def test_vnni_is_unknown_without_cpu_flags(tmp_path: Path) -> None:
    assert cpu_has_vnni(tmp_path / "missing") is None
    (tmp_path / "arm").write_text("processor\t: 0\nFeatures\t: fp asimd\n")
    assert cpu_has_vnni(tmp_path / "arm") is None


def model_built(tmp_path: Path, quantization: str, vnni: bool | None) -> ObjectionModel:
    meta = {"format": MODEL_FORMAT, "labels": ["price"], "thresholds": [0.5]}
    meta |= {"quantization": quantization, "build_cpu_vnni": vnni}
    folder = tmp_path / f"objections-{quantization}-{vnni}"
    folder.mkdir()
    (folder / "meta.json").write_text(json.dumps(meta))
    return ObjectionModel(folder)


def test_eight_bit_model_from_the_other_kind_of_cpu_says_so(tmp_path: Path) -> None:
    here = cpu_has_vnni()
    if here is None:
        pytest.skip("this machine's CPU flags cannot be read")
    warning = model_built(tmp_path, "per_channel", not here).cpu_mismatch()
    assert warning is not None and "models build --force" in warning
    assert ("built on a CPU with VNNI" in warning) is (not here)


def test_no_warning_for_seven_bit_same_cpu_or_unknown_builds(tmp_path: Path) -> None:
    here = cpu_has_vnni()
    assert model_built(tmp_path, "per_channel_7bit", not here).cpu_mismatch() is None
    assert model_built(tmp_path, "per_channel", here).cpu_mismatch() is None
    assert model_built(tmp_path, "per_tensor", None).cpu_mismatch() is None
