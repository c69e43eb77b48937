"""How every settings class reads its values, the same way for the indexer, the API, the gateway and the relayer.

Precedence, highest first: arguments > environment (``DM3_…``) > a ``.env`` file in the working directory > the
file named by ``DM3_CONFIG`` (or given to :meth:`Dm3Settings.load`) > defaults.

The config file (TOML, or YAML with the same shape) holds the indexer's settings at its top level and each
other component in its own table::

    database_url = "postgresql+psycopg://..."   # shared: every component reads the top-level database_url
    deployments_dir = "deployments"             # shared, as is deployments_dir
    [[chains]]                                  # the indexer's chains
    ...
    [api]                                       # ApiSettings        (env DM3_API_…)
    [api.changes]                               # ChangesSettings    (env DM3_API_CHANGES_…)
    [gateway]                                   # GatewaySettings    (env DM3_GATEWAY_…)
    [relayer]                                   # RelayerSettings    (env DM3_RELAYER_…)

Nothing here writes ``os.environ``: a file given to :meth:`Dm3Settings.load` reaches the classes it builds
(nested ones included) through a context variable.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from indexer.errors import UserError

#: The environment variable naming the config file.
CONFIG_ENV = "DM3_CONFIG"
#: Top-level keys of the config file that every component shares (as the environment shares
#: `DM3_DATABASE_URL` and `DM3_DEPLOYMENTS_DIR`); a component's own table may override them.
SHARED_KEYS = ("database_url", "deployments_dir")

_config_file: ContextVar[Path | None] = ContextVar("dm3_config_file", default=None)


class ConfigError(UserError):
    """The configuration is invalid or incomplete (a user error: report it, no traceback)."""


class Dm3Settings(BaseSettings):
    """Base of every settings class; a subclass sets its `env_prefix` and the table it reads in the file."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    #: The table of the config file this class reads: () the top level, ("api", "changes") `[api.changes]`.
    config_section: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def load(cls, config_file: Path | str | None = None, **overrides: Any) -> Self:
        """The settings from the environment and `config_file` (default: `DM3_CONFIG`), problems as ConfigError."""
        try:
            with using_config_file(config_file):
                return cls(**overrides)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"invalid configuration: {problems}") from exc
        except (SettingsError, OSError, ValueError) as exc:  # e.g. DM3_RELAYER_CHAINS that is not JSON
            raise ConfigError(f"invalid configuration: {exc}") from exc

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, dotenv_settings, ConfigFileSource(settings_cls))


def config_file_path() -> Path | None:
    """The config file in effect: the one given to `load`, else `DM3_CONFIG`, else none."""
    explicit = _config_file.get()
    if explicit is not None:
        return explicit
    named = os.environ.get(CONFIG_ENV, "").strip()
    return Path(named) if named else None


@contextmanager
def using_config_file(path: Path | str | None) -> Iterator[None]:
    """Settings built inside this block read `path` (None: `DM3_CONFIG`), without touching the environment."""
    token = _config_file.set(Path(path) if path is not None else None)
    try:
        yield
    finally:
        _config_file.reset(token)


def read_config_file(path: Path) -> dict[str, Any]:
    """The whole config file as a mapping (TOML, or YAML by suffix)."""
    if not path.is_file():
        raise ConfigError(f"{CONFIG_ENV} points to {path}, which is not a file")
    if path.suffix == ".toml":
        try:
            return tomllib.loads(path.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{CONFIG_ENV} {path}: {exc}") from exc
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(f"{CONFIG_ENV} {path}: {exc}") from exc
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ConfigError(f"{CONFIG_ENV} {path}: the top level must be a mapping")
        return data
    raise ConfigError(f"{CONFIG_ENV} {path}: use a .toml, .yaml or .yml file")


class ConfigFileSource(PydanticBaseSettingsSource):
    """The values of one settings class from the config file: its table, plus the shared top-level keys.

    Tables that other settings classes read (a field whose type is itself a `Dm3Settings`, e.g. `[api.changes]`
    inside `[api]`) are left to those classes, so the environment still wins over the file for them.
    """

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns the whole mapping

    def __call__(self) -> dict[str, Any]:
        path = config_file_path()
        if path is None:
            return {}
        data = read_config_file(path)
        section: tuple[str, ...] = getattr(self.settings_cls, "config_section", ())
        values: dict[str, Any] = {}
        if section:
            values = {key: data[key] for key in SHARED_KEYS if key in data}
        table: Any = data
        for name in section:
            table = table.get(name, {}) if isinstance(table, dict) else {}
        if not isinstance(table, dict):
            raise ConfigError(f"{CONFIG_ENV} {path}: [{'.'.join(section)}] must be a table")
        values.update(table)
        for name, field in self.settings_cls.model_fields.items():
            if isinstance(field.annotation, type) and issubclass(field.annotation, Dm3Settings):
                values.pop(name, None)
        return values
