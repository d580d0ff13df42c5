"""Dataset registry: turn a ``--data`` spec into an :class:`EventSet`.

Why a registry: datasets are variants, so they are registry entries rather
than an if-chain (house rule 5). A spec is either a registered name (each entry
is a callable ``loader(split=...) -> EventSet``) or a path to an event file
ending in ``.npz`` (see DESIGN.md "Event file"); a file holds one split, so
``split`` is ignored for files.
"""

from __future__ import annotations

from collections.abc import Callable

from emulator.errors import InputError

from .digits import load_digits_events
from .events import EventSet, read_npz

__all__ = ["DATASETS", "load_events"]

DATASETS: dict[str, Callable[..., EventSet]] = {
    "digits": load_digits_events,
}


def load_events(spec: str, split: str = "test") -> EventSet:
    """Load registered dataset ``spec`` (its ``split``) or the file ``spec.npz``."""
    spec = str(spec)
    if spec in DATASETS:
        return DATASETS[spec](split=split)
    if spec.endswith(".npz"):
        return read_npz(spec)
    raise InputError(
        spec,
        "data",
        f"unknown dataset; expected one of {', '.join(sorted(DATASETS))} "
        "or a .npz file",
    )
