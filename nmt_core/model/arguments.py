"""What every architecture's config dataclass shares: to and from config.json's ``model`` entry."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Self


class Arguments:
    """Mixin for a config dataclass: ``to_dict`` for config.json, ``from_dict`` that names unknown keys."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Self:
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown model arguments: {sorted(unknown)}")
        return cls(**values)
