"""Help text as a user should read it: plain flags show no ``<bool>`` type (imported by the CLI)."""

from __future__ import annotations

from typing import Any

__all__: list[str] = []


def _hide_flag_types() -> None:
    """Plain flags take no value: show no ``<bool>`` type beside them in ``--help``.

    Recent typer prints every option's type, flags included; there is no setting for
    it, so the one method that renders the type column learns to skip flags.
    """
    try:
        from typer.core import TyperOption
    except ImportError:  # an older typer, which never printed it
        return
    original = getattr(TyperOption, "display_type_rich", None)
    if original is None or getattr(original, "_skips_flags", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return None if getattr(self, "is_flag", False) else original(self, ctx)

    display_type_rich._skips_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_hide_flag_types()
