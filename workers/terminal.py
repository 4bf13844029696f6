"""Text from records, made safe to print to a person's terminal.

Article fields come from whoever produced them. Printed raw, a control
character in a title or id reaches the operator's terminal as a command:
clear the screen, set the window title, write the clipboard (OSC 52), or
reorder what is shown (bidirectional overrides). Everything human-readable
that prints record fields or file names passes them through ``safe``.
"""

from __future__ import annotations

import re

# C0 and DEL, C1, the line and paragraph separators, and the bidirectional controls
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: object) -> str:
    """``text`` (any value, as ``str`` gives it) with every control character
    written as a backslash escape, newlines and tabs included: one field, one line."""
    return _UNSAFE.sub(_escape, str(text))
