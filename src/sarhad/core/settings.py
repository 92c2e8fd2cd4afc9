"""Typed node settings, read from ``<data_dir>/sarhad.toml`` and ``SARHAD_*`` environment variables.

Environment variables win over the file so that one data directory can be run with a different port or
database for a test without editing it. Settings are validated once at start-up; a bad value stops the node
with a message that names the setting.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

CONFIG_FILE_NAME = "sarhad.toml"
KEY_FILE_NAME = "signing-key.pem"
DEFAULT_SECRET = "change-me"  # noqa: S105 - the sentinel that is refused outside demo mode
ENV_PREFIX = "SARHAD_"


class SettingsError(Exception):
    """The configuration cannot be used; the message says which setting and why."""


class TlsSettings(BaseModel):
    """Mutual TLS for the exchange. All paths empty means plain HTTP (loopback demo only)."""

    cert_file: str = ""
    key_file: str = ""
    ca_file: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.cert_file and self.key_file and self.ca_file)


class Settings(BaseModel):
    """Everything a node needs to know about itself."""

    model_config = {"extra": "forbid", "frozen": True}

    party: str
    name: str
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=1, le=65535)
    public_url: str = ""
    database_url: str = ""
    secret_key: str = DEFAULT_SECRET
    demo_mode: bool = False
    log_json: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    default_language: Literal["en", "ur", "fa"] = "en"
    default_time_zone: str = "UTC"
    default_calendar: Literal["gregorian", "solar_hijri"] = "gregorian"
    tile_url: str = ""
    # host:port of the Prometheus scrape (/metrics), apart from the node's own port; empty: not served
    metrics_address: str = Field(default="", pattern=r"^$|^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")
    session_ttl_minutes: int = Field(default=480, ge=1)
    token_ttl_minutes: int = Field(default=60, ge=1)
    login_max_failures: int = Field(default=5, ge=1)  # per client address and username
    login_max_failures_per_address: int = Field(default=20, ge=1)  # per client address, any usernames
    login_window_minutes: int = Field(default=15, ge=1)
    clock_offset_seconds: float = 0.0
    exchange_batch_max_envelopes: int = Field(default=1000, ge=1)
    exchange_batch_max_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    exchange_request_max_skew_minutes: int = Field(default=24 * 60, ge=1)
    # How often `sarhad serve` signs its audit log's head (docs/audit.md); 0: only at shutdown and by hand.
    audit_head_seconds: float = Field(default=60.0, ge=0)
    # Precedence lanes (docs/exchange-protocol.md, "Precedence lanes"): offered in hello and used with every
    # peer that offers them too. Off: one chain per link, as nodes before lanes.
    exchange_lanes: bool = True
    # A repeated 409 seq_gap (the peer keeps asking to go back) is backed off like a failure; from this many
    # in a row an alert is raised.
    exchange_seq_gap_alert_after: int = Field(default=5, ge=1)
    tls: TlsSettings = TlsSettings()

    @field_validator("party")
    @classmethod
    def _party_code(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{2}", value):
            raise ValueError("must be an ISO 3166-1 alpha-2 code in capitals, e.g. PK")
        return value

    @field_validator("default_time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _no_default_secret_outside_demo(self) -> Settings:
        if not self.demo_mode and (self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32):
            raise ValueError(
                "secret_key is left at its default or shorter than 32 characters; "
                "set a random one (sarhad init writes one) or run in demo mode"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'sarhad.db'}"

    @property
    def key_path(self) -> Path:
        return self.data_dir / KEY_FILE_NAME

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls.enabled else "http"
        return self.public_url or f"{scheme}://{self.host}:{self.port}"


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    fields = Settings.model_fields
    out: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name.startswith("tls_"):
            out.setdefault("tls", {})[name[4:]] = value
        elif name in fields and name != "data_dir":
            out[name] = value
    return out


def load_settings(data_dir: Path | str, environ: dict[str, str] | None = None) -> Settings:
    """Read the node's settings from its data directory and the environment, and validate them."""
    data_dir = Path(data_dir).resolve()
    path = data_dir / CONFIG_FILE_NAME
    if not path.exists():
        raise SettingsError(
            f"{path} does not exist; create the node with 'sarhad init --data-dir {data_dir}'"
        )
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from exc
    overrides = _env_overrides(dict(os.environ if environ is None else environ))
    if "tls" in overrides:
        raw["tls"] = {**raw.get("tls", {}), **overrides.pop("tls")}
    raw.update(overrides)
    raw["data_dir"] = data_dir
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid settings in {path} or SARHAD_* environment: {problems}") from exc


def write_config(data_dir: Path, values: dict[str, Any]) -> Path:
    """Write a config file (used by ``sarhad init``). Only simple scalar values and the tls table."""
    lines = ["# sarhad node configuration; SARHAD_<NAME> environment variables override these values.", ""]
    tables: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            tables[key] = value
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for table, content in tables.items():
        lines += ["", f"[{table}]"] + [f"{k} = {_toml_value(v)}" for k, v in content.items()]
    path = data_dir / CONFIG_FILE_NAME
    # The file holds secret_key: readable by the node's owner only, from the moment it exists.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
