"""The blind set's files (``en.yml``, ``fr.yml``, ``es.yml``) as conversations and turns.

Each file holds the conversations that start in its language. A conversation's page (the
widget's language, sent with every message) is its ``page:`` or the file's language. A
turn's reply must be in its ``reply_language``, else in the file's language: the set states
``reply_language`` whenever it differs (after a switch, on every later turn).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import yaml

LANGUAGES = ("en", "fr", "es")
# One expected item: a label, or a list of labels of which any one will do.
Item = Union[str, Tuple[str, ...]]


@dataclass(frozen=True)
class Turn:
    conversation: str
    number: int  # 1 for the conversation's first turn
    say: str
    kind: str
    expect: Tuple[Item, ...]
    reply_language: str
    has_any: Tuple[str, ...] = ()
    has_none: Tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.conversation}#{self.number}"

    @property
    def clear(self) -> bool:
        """A clear question: no expected item accepts the second chance (``choices:``)."""
        return not any(label.startswith("choices:") for item in self.expect for label in alternatives(item))


@dataclass(frozen=True)
class Conversation:
    id: str
    language: str  # the file's
    page: str
    turns: Tuple[Turn, ...]


def alternatives(item: Item) -> Tuple[str, ...]:
    return (item,) if isinstance(item, str) else tuple(item)


def _item(raw: Any) -> Item:
    return str(raw) if isinstance(raw, str) else tuple(str(label) for label in raw)


def parse_conversation(raw: Dict[str, Any], language: str) -> Conversation:
    turns = tuple(
        Turn(
            conversation=str(raw["id"]),
            number=number,
            say=str(turn["say"]),
            kind=str(turn["kind"]),
            expect=tuple(_item(item) for item in turn["expect"]),
            reply_language=str(turn.get("reply_language") or language),
            has_any=tuple(turn.get("reply_has_any") or ()),
            has_none=tuple(turn.get("reply_has_none") or ()),
        )
        for number, turn in enumerate(raw["turns"], start=1)
    )
    return Conversation(str(raw["id"]), language, str(raw.get("page") or language), turns)


def load_set(directory: Path, languages: Sequence[str] = LANGUAGES) -> List[Conversation]:
    """The conversations of ``languages``' files, in file order."""
    conversations: List[Conversation] = []
    for language in languages:
        data = yaml.safe_load((directory / f"{language}.yml").read_text(encoding="utf-8"))
        conversations += [parse_conversation(raw, language) for raw in data["conversations"]]
    return conversations


def select(
    conversations: Sequence[Conversation],
    kinds: Optional[Sequence[str]] = None,
    ids: Optional[Sequence[str]] = None,
) -> List[Conversation]:
    """The conversations to play: those with a turn of one of ``kinds`` (played whole, since
    a turn needs the ones before it), or named by ``ids``."""
    chosen = [c for c in conversations if not ids or c.id in ids]
    if kinds:
        chosen = [c for c in chosen if any(turn.kind in kinds for turn in c.turns)]
    return chosen


def kinds_of(conversations: Sequence[Conversation]) -> List[str]:
    seen: Dict[str, None] = {}
    for conversation in conversations:
        for turn in conversation.turns:
            seen.setdefault(turn.kind, None)
    return list(seen)
