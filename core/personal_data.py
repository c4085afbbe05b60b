"""The registry of personal data: what each app holds about a member, and how it lets go.

Each app that stores something about a member registers two functions here:

* an *exporter* returning a JSON-ready section for the member's data download;
* an *eraser* called inside the erasure transaction, which deletes what identifies
  the member or detaches it (replies the force must keep stay, pointing at the
  member's tombstone, which identifies nobody).

Keeping both next to each other means a new model cannot join the export without
someone deciding what erasure does to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PersonalDataSection:
    name: str
    export: Callable[[Any], Any]
    erase: Callable[[Any], None]


_SECTIONS: dict[str, PersonalDataSection] = {}


def register(name: str, *, export: Callable[[Any], Any], erase: Callable[[Any], None]) -> None:
    _SECTIONS[name] = PersonalDataSection(name=name, export=export, erase=erase)


def sections() -> list[PersonalDataSection]:
    return list(_SECTIONS.values())
