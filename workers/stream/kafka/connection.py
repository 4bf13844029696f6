"""How every client connects: the servers, TLS and SASL options from the settings,
for aiokafka's clients and as Faust's credentials. Secrets are read here, from the
settings' secret values, and never logged."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from aiokafka import errors as aiokafka_errors
from aiokafka.conn import create_conn
from aiokafka.helpers import create_ssl_context
from aiokafka.protocol.metadata import MetadataRequest

from workers.errors import ConfigError
from workers.settings import Settings


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context for SSL and SASL_SSL, from the CA, certificate and key settings."""
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    context: ssl.SSLContext = create_ssl_context(
        cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None,
        certfile=str(settings.ssl_certfile) if settings.ssl_certfile else None,
        keyfile=str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
        password=settings.secret("ssl_key_password"),
    )
    context.check_hostname = settings.ssl_check_hostname
    return context


def client_options(settings: Settings, **override: Any) -> dict[str, Any]:
    """Connection options shared by every aiokafka client: servers, TLS, SASL, and the
    longest any one request is waited for (``ENRICH_REQUEST_TIMEOUT_S``, or
    ``override``'s ``request_timeout_ms``)."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.broker,
        "security_protocol": settings.security_protocol,
        "request_timeout_ms": int(settings.request_timeout_s * 1000),
    }
    context = ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.security_protocol.startswith("SASL"):
        options |= {
            "sasl_mechanism": settings.sasl_mechanism,
            "sasl_plain_username": settings.sasl_username,
            "sasl_plain_password": settings.secret("sasl_password"),
        }
    return options | override


def faust_credentials(settings: Settings) -> Any:
    """The same TLS and SASL settings as Faust credentials (None for PLAINTEXT)."""
    import faust

    options = client_options(settings)
    context = options.get("ssl_context")
    if settings.security_protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=options["sasl_plain_username"],
            password=options["sasl_plain_password"],
            ssl_context=context,
            mechanism=options["sasl_mechanism"],
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


#: What the broker says of credentials it refuses, or of a mechanism it does not offer.
_REFUSED = (
    aiokafka_errors.SaslAuthenticationFailed,
    aiokafka_errors.AuthenticationFailedError,
    aiokafka_errors.UnsupportedSaslMechanismError,
    aiokafka_errors.IllegalSaslStateError,
    aiokafka_errors.AuthenticationMethodNotSupported,
)


async def probe(
    settings: Settings, host: str, port: int, *, timeout: float = 5.0, again: bool = True
) -> None:
    """Connect to one broker as every client will (TLS, SASL, a first request), and
    tell a setting the broker refuses from a broker that is away.

    Raises ConfigError, saying what and which setting, when the broker refused the
    credentials or the mechanism, when its certificate cannot be verified or TLS
    fails, or when it answered the handshake and then closed the connection at the
    first request, as a SASL or TLS listener does to a plain client (the second time,
    ``again``: once is a connection a network dropped). Anything else
    (refused, reset, timed out) is raised as it is: the caller waits and tries again.
    """
    options = client_options(settings)
    sasl = {k: v for k, v in options.items() if k.startswith("sasl_")}
    where = f"{host}:{port}"
    try:
        conn = await create_conn(
            host,
            port,
            request_timeout_ms=int(timeout * 1000),
            ssl_context=options.get("ssl_context"),
            security_protocol=settings.security_protocol,
            **sasl,
        )
    except _REFUSED as exc:
        raise ConfigError(
            f"the broker at {where} refused authentication ({_said(exc)}): check "
            "ENRICH_SASL_USERNAME, ENRICH_SASL_PASSWORD and ENRICH_SASL_MECHANISM "
            f"({settings.sasl_mechanism})"
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise ConfigError(
            f"the broker at {where} has a certificate this client cannot verify "
            f"({exc.verify_message}): set ENRICH_SSL_CAFILE to the CA that signed it"
        ) from None
    except ssl.SSLError as exc:
        raise ConfigError(
            f"TLS with the broker at {where} failed ({exc.reason or exc}): is "
            f"ENRICH_SECURITY_PROTOCOL ({settings.security_protocol}) right for this listener?"
        ) from None
    try:
        await asyncio.wait_for(conn.send(MetadataRequest([])), timeout)
    except aiokafka_errors.KafkaConnectionError:
        if not again:
            raise
        # twice in a row, right after a handshake the broker answered: not the network
        raise ConfigError(
            f"the broker at {where} answered, then closed the connection at the first "
            f"request: is ENRICH_SECURITY_PROTOCOL ({settings.security_protocol}) right for "
            "this listener (a SASL or SSL listener closes a plain client's connection)?"
        ) from None
    finally:
        conn.close()


async def probe_any(settings: Settings, *, timeout: float = 5.0) -> None:
    """``probe`` the bootstrap servers in turn until one answers; a ConfigError at
    once, else the last error when none answered."""
    last: BaseException | None = None
    for address in settings.broker.split(","):
        host, _, port = address.strip().rpartition(":")
        for again in (False, True):
            try:
                await probe(settings, host.strip("[]"), int(port), timeout=timeout, again=again)
                return
            except ConfigError:
                raise
            except aiokafka_errors.KafkaConnectionError as exc:
                last = exc  # closed after the handshake: try once more, then say so
            except (aiokafka_errors.KafkaError, OSError, TimeoutError) as exc:
                last = exc
                break
    assert last is not None  # noqa: S101 - the loop ran over at least one address
    raise last


def _said(exc: BaseException) -> str:
    """What an aiokafka error says, without the connection's repr it sometimes is."""
    text = str(exc)
    return (
        text.split(": ", 1)[1]
        if ": " in text and "<AIOKafkaConnection" not in text
        else (type(exc).__name__)
    )
