"""What the CPU at hand offers the model: the instruction sets that decide which kernels run.

Read from ``/proc/cpuinfo`` (Linux); elsewhere nothing is assumed, so the careful path is
taken. ``ONEDNN_MAX_CPU_ISA`` (oneDNN's own limit, honoured by OpenVINO) is respected, so a
machine with AVX-512 can be run as one without it.
"""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from pathlib import Path

# the flags that change which int8 / bfloat16 kernels a runtime picks
FEATURES = ("avx2", "avx_vnni", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
            "amx_int8", "amx_bf16")


@lru_cache(maxsize=1)
def _cpuinfo() -> tuple[str, frozenset[str]]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine(), frozenset()
    model, flags = "", frozenset[str]()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and not model:
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = frozenset(value.split())
    return model or platform.machine(), flags


def cpu_model() -> str:
    return _cpuinfo()[0]


def cpu_features() -> tuple[str, ...]:
    """The flags in ``FEATURES`` this CPU has, less what ``ONEDNN_MAX_CPU_ISA`` rules out."""
    flags = _cpuinfo()[1]
    limit = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
    below_avx512 = bool(limit) and not limit.startswith(("AVX512", "AVX10", "AMX", "ALL", "DEFAULT"))
    return tuple(f for f in FEATURES if f in flags
                 and not (below_avx512 and f.startswith(("avx512", "amx"))))


def has_avx512() -> bool:
    return "avx512bw" in cpu_features()
