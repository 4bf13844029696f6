"""The error tree. Every error that reaches a record carries a stable code.

::

    EnrichError                      base of everything this package raises
    ├── PermanentError               this record can never be processed: dead-letter it
    │   ├── DecodeError              the bytes are not a usable record
    │   │     invalid_encoding       value is not UTF-8
    │   │     invalid_json           value is not JSON
    │   │     not_an_object          JSON, but not an object
    │   │     too_large              value over ENRICH_MAX_RECORD_BYTES
    │   ├── InvalidRecord            a JSON object that breaks its schema
    │   │     missing_content        raw article with neither html nor text
    │   │     invalid_field          a field of the wrong type or value
    │   │     invalid_record         an intermediate record that breaks its schema
    │   └── StageFailed              a stage could not handle this article
    │         empty_text             nothing left after cleaning
    │         stage_failed           an unexpected error inside a stage
    ├── TransientError               the world is broken, not the record: retry
    ├── ConfigError                  an invalid setting or argument
    └── NotFound                     an input file, directory or topic does not exist

``ExitCode`` is what a command or a worker exits with; the README's table of exit
codes is checked against it.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """Exit codes of ``enrich`` commands and workers (sysexits.h names where they fit)."""

    OK = 0  # success; a worker stopped by SIGTERM/SIGINT included
    ERROR = 1  # a command failed (the message says why)
    DATA_ERROR = 65  # EX_DATAERR: some input records were skipped (each one named)
    NO_INPUT = 66  # EX_NOINPUT: an input file, directory or topic does not exist
    BROKER_UNAVAILABLE = 69  # EX_UNAVAILABLE: broker unreachable at start, or lost too long
    DLQ_LIMIT = 70  # EX_SOFTWARE: nearly everything fails; a human should look
    PRODUCE_FAILED = 75  # EX_TEMPFAIL: output could not be published; restart me
    CONFIG = 78  # EX_CONFIG: an invalid setting or argument
    INTERRUPTED = 130  # a command (not a worker) stopped by Ctrl-C


class EnrichError(Exception):
    """Base class of every error raised by this package."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class PermanentError(EnrichError):
    """The record cannot be processed, however often it is retried."""

    codes: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        if self.codes and self.code not in self.codes:
            raise ValueError(f"{type(self).__name__} has no code {self.code!r}")


class DecodeError(PermanentError):
    codes = frozenset({"invalid_encoding", "invalid_json", "not_an_object", "too_large"})


class InvalidRecord(PermanentError):
    codes = frozenset({"missing_content", "invalid_field", "invalid_record"})


class StageFailed(PermanentError):
    codes = frozenset({"empty_text", "stage_failed"})


class TransientError(EnrichError):
    """A failure outside the record (broker down, timeout): worth retrying."""

    code = "transient"


class ConfigError(EnrichError):
    """An invalid setting; reported in one line at start."""

    code = "config"


class NotFound(EnrichError):
    """An input the command was given does not exist (a file, a directory, a topic)."""

    code = "not_found"


ERROR_CODES: frozenset[str] = DecodeError.codes | InvalidRecord.codes | StageFailed.codes
