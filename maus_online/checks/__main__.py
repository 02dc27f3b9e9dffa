"""``python -m maus_online.checks``: every registered check and its parameters, for writing a
quality-checks file (docs/quality.md)."""
from __future__ import annotations

import math

from ..registry import build_default_registry


def listing() -> str:
    """One paragraph per check: its name and docstring, then each parameter."""
    registry = build_default_registry()
    lines = []
    for name in registry.names("check"):
        cls = registry.get(name, kind="check")
        lines.append(f"{name}: {(cls.__doc__ or '').strip().splitlines()[0]}")
        for key, parameter in cls.parameters.items():
            default = "required" if parameter.default is None else \
                "unset" if isinstance(parameter.default, float) and math.isnan(
                    parameter.default) else f"default {parameter.default!r}"
            lines.append(f"    {key} ({parameter.type}, {default}): {parameter.help}")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(listing())
