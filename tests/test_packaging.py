"""The pinned lock file installs everything pyproject.toml asks for."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _names(requirements: list[str]) -> list[str]:
    return [re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0] for r in requirements]


def test_every_declared_dependency_is_installed() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _names(project["dependencies"]) + _names(project["optional-dependencies"]["diarize"])
    missing = []
    for name in wanted:
        try:
            version(name)
        except PackageNotFoundError:
            missing.append(name)
    assert missing == [], f"add to .ci/requirements.lock (see .ci/lock): {missing}"


def test_lock_pins_every_declared_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = (ROOT / ".ci" / "requirements.lock").read_text().lower()
    pinned = {
        re.split("==", line)[0].replace("_", "-") for line in lock.splitlines() if "==" in line
    }
    wanted = _names(project["dependencies"]) + _names(project["optional-dependencies"]["diarize"])
    missing = [n for n in wanted if n.lower().replace("_", "-") not in pinned]
    assert missing == [], f"not pinned in .ci/requirements.lock: {missing}"
