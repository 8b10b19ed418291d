"""Visitors' text in log records: personal data replaced, over-long text cut.

Rasa and Sanic put what visitors typed into some log records: Rasa's REST channel logged the
whole message at ERROR on a timeout or a failure (a 1 MB message made 1 MB of log), Rasa's
structured logs add the locals of the failing frame to an error, debug logs quote every
message, and an exception's text may quote its input. So, in every process that installs
this (the Rasa server through :func:`server.patches.install`, the action server through the
``actions`` package), every log record is sanitised once, when it is created:

- its message is formatted (``msg % args``; arguments that do not fit the message are
  appended instead of breaking the record), then the arguments are cleared;
- any stretch of more than ``MAX_RUN`` characters without a double quote or a line break
  (a visitor's message, in a line of Rasa's JSON logs or a quoted one) keeps its first
  ``MAX_RUN`` characters and says how many were cut;
- a message still longer than ``MAX_MESSAGE`` characters keeps its first ``MAX_MESSAGE``;
  a traceback (``exc_info``) is formatted the same way, keeping its last ``MAX_MESSAGE``
  characters (where the error is);
- personal data is replaced by :func:`privacy.redaction.redact` (emails, phone numbers, card
  numbers, IBANs, IP addresses but the servers' loopback and "any" addresses: the
  placeholders of the conversation log), only in text that contains a digit or an "@"
  (nothing else can hold what it detects).

The record factory (:func:`logging.setLogRecordFactory`) is what every logger uses to make
its records, so this covers Rasa's, Sanic's, rasa-sdk's and the project's loggers, and every
handler, including those that Rasa (coloredlogs, structlog's standard-library output) adds
after :func:`install`. It needs no Rasa internals. Extra attributes that a caller passes with
``extra=`` are not sanitised (Sanic's access log puts the request line there; Rasa leaves
Sanic's access log off below the debug level).

Not everything a process prints is a log record. Python's ``warnings`` write to standard
error themselves: Rasa's ``UserWarning`` about a button payload with entities it does not know
printed the whole payload, an email address in it included. So :func:`install` also sends
warnings through logging (``logging.captureWarnings``, the ``py.warnings`` logger), and the
servers' entry points (``scripts/rasa_server.py``, ``scripts/action_server.py``) call
:func:`redact_standard_streams`, which wraps ``sys.stdout`` and ``sys.stderr`` in
:class:`RedactingStream`: every write is sanitised the same way, so a library's stray
``print`` and Python's own report of an exception nobody caught are covered too. Only the
servers: a staff command's output (``make enquiries`` lists contact emails) is meant to be
read whole. What native code (TensorFlow's C++) writes to the file descriptors directly is
not covered; it never sees a visitor's text.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, Callable, TextIO

from privacy.redaction import redact

MAX_RUN = 300
MAX_MESSAGE = 10_000
# Text redacted beyond a cut, so that an email address (254 characters at most) that the cut
# goes through is replaced whole rather than half kept.
_MARGIN = 256

_RISKY = re.compile(r"[\d@]")
# Capturing, so that split() keeps the runs: at odd indexes.
_LONG_RUN = re.compile(rf'([^"\n]{{{MAX_RUN + 1},}})')
_SANITISED = "_apt_sanitised"
# Loopback and "any" addresses are the servers' own, never a visitor's: "Starting Rasa server
# on http://127.0.0.1:5005" keeps its address. Every other IP address is replaced.
_THIS_MACHINE = re.compile(r"(?<![\w.:])((?:127(?:\.\d{1,3}){3}|0\.0\.0\.0)(?![\w.])|::1?(?![\w.:]))")


def _redact(text: str) -> str:
    # Only a digit or an "@" can start anything redact() replaces.
    if not _RISKY.search(text):
        return text
    parts = _THIS_MACHINE.split(text)
    if len(parts) == 1:
        return redact(text)
    return "".join(part if i % 2 else redact(part) for i, part in enumerate(parts))


def _keep(text: str, length: int) -> str:
    """The first ``length`` characters of ``text`` (the last if negative), redacted first
    beyond them (see _MARGIN)."""
    if length >= 0:
        return _redact(text[: length + _MARGIN])[:length]
    return _redact(text[length - _MARGIN :])[length:]


def _note(cut: int) -> str:
    return f"[... {cut} characters cut]"


def sanitise(text: str, keep_end: bool = False) -> str:
    """``text`` with long stretches cut, at most ``MAX_MESSAGE`` characters (the first, or the
    last with ``keep_end``) and personal data replaced. Cheap for short text without digits."""
    if len(text) <= MAX_RUN:
        return _redact(text)
    pieces = _LONG_RUN.split(text)
    for i in range(1, len(pieces), 2):
        pieces[i] = _keep(pieces[i], MAX_RUN) + _note(len(pieces[i]) - MAX_RUN)
    cut = sum(map(len, pieces)) - MAX_MESSAGE
    if cut <= 0:
        return "".join(piece if i % 2 else _redact(piece) for i, piece in enumerate(pieces))
    # Still too long (many short stretches, or a long traceback): the kept part is redacted
    # whole, the notes of cut stretches included.
    text = "".join(pieces)
    if keep_end:
        return _note(cut) + _keep(text, -MAX_MESSAGE)
    return _keep(text, MAX_MESSAGE) + _note(cut)


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # noqa: BLE001 (arguments that do not fit: keep them, readable)
        try:
            return f"{record.msg!s} (log arguments that do not fit the message: {record.args!r})"
        except Exception:  # noqa: BLE001
            return f"(a log message of type {type(record.msg).__name__} that cannot be printed)"


def sanitise_record(record: logging.LogRecord) -> logging.LogRecord:
    """The record, its message (and traceback) sanitised in place; once per record."""
    if getattr(record, _SANITISED, None) is record.msg and not record.args:
        return record  # already done (and not changed since, as logging.makeLogRecord does)
    record.msg = sanitise(_message(record))
    record.args = ()
    if record.exc_info and not record.exc_text:
        try:
            record.exc_text = sanitise(logging.Formatter().formatException(record.exc_info), keep_end=True)
        except Exception:  # noqa: BLE001 (a traceback that cannot be formatted: leave it to the handler)
            pass
    setattr(record, _SANITISED, record.msg)
    return record


class RedactingFilter(logging.Filter):
    """The same sanitising as a filter, for a handler that receives records made elsewhere
    (``logging.makeLogRecord``): :func:`install` does not need it."""

    def filter(self, record: logging.LogRecord) -> bool:
        sanitise_record(record)
        return True


class RedactingStream:
    """A text stream that sanitises what is written to it (:func:`sanitise`, line by line for
    long output), then writes it to the stream it wraps; everything else is the wrapped
    stream's (``fileno``, ``isatty``, ``encoding``...)."""

    def __init__(self, stream: TextIO) -> None:
        self.wrapped = stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            return self.wrapped.write(text)
        self.wrapped.write(sanitise(text) if len(text) <= MAX_RUN else _sanitise_lines(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def _sanitise_lines(text: str) -> str:
    return "".join(sanitise(line) for line in text.splitlines(keepends=True))


def redact_standard_streams() -> None:
    """Sanitise everything this process writes to standard output and error from now on."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, RedactingStream):
            setattr(sys, name, RedactingStream(stream))


def install() -> None:
    """Sanitise every log record made in this process from now on, and every warning (once
    per process)."""
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(previous, _SANITISED, False):
        return

    def sanitised_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return sanitise_record(previous(*args, **kwargs))

    setattr(sanitised_record, _SANITISED, True)
    logging.setLogRecordFactory(sanitised_record)
    logging.captureWarnings(True)


def installed() -> bool:
    return bool(getattr(logging.getLogRecordFactory(), _SANITISED, False))
