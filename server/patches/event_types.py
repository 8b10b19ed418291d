"""Find an event's class by its type name in a dictionary instead of a class-tree walk.

Rasa 3.6 turns each stored event back into an object with ``Event.resolve_by_type``, which
lists every subclass of ``Event`` (recursively, checking each for abstract methods) to find
the one with that ``type_name``. Reading a conversation from the tracker store does this for
every event of it on every message: 4 to 5 % of the Rasa server's time under load. The table
here is built once, from the same list in the same order (the first class with a name wins,
as in Rasa); a name not in it (a class defined after the table was built, an unknown or old
name) goes to Rasa's own search, with its default and its error.
"""

from __future__ import annotations

from functools import cache
from typing import Dict, Optional, Type

from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

_RASA_RESOLVE = Event.resolve_by_type


@cache
def event_classes() -> Dict[str, Type[Event]]:
    """type name -> the class Rasa's search would return for it."""
    table: Dict[str, Type[Event]] = {}
    for cls in all_subclasses(Event):
        table.setdefault(cls.type_name, cls)
    return table


def resolve_by_type(type_name: str, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    """Drop-in for ``Event.resolve_by_type``."""
    found = event_classes().get(type_name)
    if found is not None:
        return found
    return _RASA_RESOLVE(type_name, default)


def install() -> None:
    Event.resolve_by_type = staticmethod(resolve_by_type)


def uninstall() -> None:
    Event.resolve_by_type = staticmethod(_RASA_RESOLVE)
