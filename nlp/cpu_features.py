"""What the CPU offers that changes int8 results: the VNNI dot-product instructions."""

from __future__ import annotations

from pathlib import Path

_VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni"})


def cpu_has_vnni(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool | None:
    """True or False on Linux x86 (read from the CPU flags), None where it cannot be told."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return not _VNNI_FLAGS.isdisjoint(line.partition(":")[2].split())
    return None
