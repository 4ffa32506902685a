"""Changing a simulator's fault knobs at run time (each simulator keeps its own knobs and checks)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

#: Checks one knob value: ``(name, current value, new value)`` -> the value to set, or ValueError.
Coerce = Callable[[str, object, object], object]


def set_knobs(knobs: DataclassInstance, changes: Mapping[str, object], coerce: Coerce) -> None:
    """Set each of `changes` on `knobs` after `coerce`; ValueError on an unknown knob or a bad value.

    Knobs before the bad one stay changed, as the control API has always answered.
    """
    known = {f.name for f in fields(knobs)}
    for name, value in changes.items():
        if name not in known:
            raise ValueError(f"unknown fault knob {name!r}")
        setattr(knobs, name, coerce(name, getattr(knobs, name), value))
