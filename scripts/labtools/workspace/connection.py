"""Which workspace a command talks to, where that came from, and whether it answers at all.

The SDK's own first contact with a host that does not answer (a typo, a workspace behind a VPN) waits
a minute, logs one warning, and then every call waits and retries for minutes more, silently. So
before the SDK is set up, `find` names the host and the setting it came from, as the SDK would resolve
it (the DATABRICKS_HOST variable first, then the profile of the config file), and `probe` asks that
host once, with a deadline: any HTTP answer will do; none within the deadline is a one-line error
naming the host and its source.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import DeployError

CONNECT_TIMEOUT_SECONDS = 30  # how long a host may take to answer at all; --connect-timeout


@dataclass(frozen=True)
class Target:
    host: str
    source: str  # "DATABRICKS_HOST", or "profile 'x' of ~/.databrickscfg"

    def __str__(self) -> str:
        return f"{self.host} (from {self.source})"


def config_file() -> str:
    return os.environ.get("DATABRICKS_CONFIG_FILE", "~/.databrickscfg")


def find(profile: str | None) -> Target | None:
    """The host the SDK will use for `profile` (None: the environment, else the DEFAULT profile)."""
    # The SDK reads the environment first and fills what is still unset from the profile.
    if os.environ.get("DATABRICKS_HOST"):
        return Target(_with_scheme(os.environ["DATABRICKS_HOST"]), "DATABRICKS_HOST")
    parser = configparser.ConfigParser()
    try:
        parser.read(Path(config_file()).expanduser(), encoding="utf-8")
    except configparser.Error as error:
        raise DeployError(f"{config_file()}: cannot be read as a config file: {error}".splitlines()[0]) from None
    name = profile or os.environ.get("DATABRICKS_CONFIG_PROFILE") or "DEFAULT"
    host = parser[name].get("host") if name in parser else None
    return Target(_with_scheme(host), f"profile {name!r} of {config_file()}") if host else None


def tokens(profiles: list[str | None]) -> list[str]:
    """The tokens the SDK may use for these profiles (the environment's too), so that none is ever printed."""
    found = [os.environ["DATABRICKS_TOKEN"]] if os.environ.get("DATABRICKS_TOKEN") else []
    parser = configparser.ConfigParser()
    try:
        parser.read(Path(config_file()).expanduser(), encoding="utf-8")
    except (configparser.Error, OSError):
        return found
    for profile in profiles:
        name = profile or os.environ.get("DATABRICKS_CONFIG_PROFILE") or "DEFAULT"
        if name in parser and parser[name].get("token"):
            found.append(parser[name]["token"])
    return found


def _with_scheme(host: str) -> str:
    # As the SDK does: a bare host name means https.
    host = host.strip().rstrip("/")
    return host if "://" in host else f"https://{host}"


def probe(target: Target, timeout: float) -> None:
    """Raise a one-line DeployError unless `target.host` answers an HTTP request within `timeout` seconds."""
    import requests  # the SDK's own HTTP library, with the same proxy settings

    advice = (
        f"check the host name and your network (VPN, proxy); for a slow link allow it longer with "
        f"--connect-timeout SECONDS (now {timeout:g})"
    )
    try:
        # The discovery document the SDK fetches first; any answer, even 404, means the host is there.
        requests.get(f"{target.host}/.well-known/databricks-config", timeout=timeout, allow_redirects=False)
    except requests.exceptions.Timeout:
        raise DeployError(f"{target} did not answer within {timeout:g} s: {advice}") from None
    except requests.exceptions.ConnectionError as error:
        raise DeployError(f"cannot reach {target}: {_reason(error)}: {advice}") from None
    except requests.exceptions.RequestException as error:
        raise DeployError(f"cannot reach {target}: {error}".splitlines()[0]) from None


def _reason(error: Exception) -> str:
    text = str(error)
    for words, reason in [
        ("Connection refused", "the connection was refused (nothing listens there)"),
        ("Name or service not known", "no such host name"),
        ("nodename nor servname", "no such host name"),
        ("getaddrinfo failed", "no such host name"),
        ("CERTIFICATE_VERIFY_FAILED", "its TLS certificate is not trusted"),
    ]:
        if words in text:
            return reason
    return text.splitlines()[0][:200]
