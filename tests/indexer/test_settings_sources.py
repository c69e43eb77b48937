"""Every settings class reads the environment, `.env` and the `DM3_CONFIG` file the same way (indexer/settings/),
without writing the environment; every `DM3_…` name of the README's configuration table is read by one of them."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from indexer.settings.api import ApiSettings, ChangesSettings
from indexer.settings.base import ConfigError, Dm3Settings
from indexer.settings.gateway import GatewaySettings
from indexer.settings.indexer import IndexerSettings, load_settings
from indexer.settings.relayer import RelayerSettings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_CLASSES: tuple[type[Dm3Settings], ...] = (
    IndexerSettings,
    ApiSettings,
    ChangesSettings,
    GatewaySettings,
    RelayerSettings,
)

CONFIG = """
database_url = "sqlite:////tmp/from-file.db"
deployments_dir = "/tmp/file-deployments"
log_level = "DEBUG"
metrics_port = 9100

[[chains]]
name = "op"
chain_id = 10
rpc_url = "http://127.0.0.1:1"

[api]
max_batch = 77
cors_origins = ["https://a.example"]

[api.changes]
max_wait = 3.5

[gateway]
ttl_seconds = 120

[relayer]
signer_quota = 5
chains = [{chain_id = 10, rpc_url = "http://127.0.0.1:2"}]
"""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No DM3_ variable and no .env file in the working directory: only what a test sets counts."""
    for name in list(os.environ):
        if name.startswith("DM3_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def config_file(clean_env: Path) -> Path:
    path = clean_env / "dm3.toml"
    path.write_text(CONFIG)
    return path


def test_config_file__every_component_reads_its_table(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DM3_CONFIG", str(config_file))
    indexer = IndexerSettings()
    api = ApiSettings()
    assert (indexer.log_level, indexer.metrics_port, indexer.chains[0].chain_id) == ("DEBUG", 9100, 10)
    assert api.max_batch == 77 and api.cors_origins == ["https://a.example"]
    assert api.changes.max_wait == 3.5 and api.gateway.ttl_seconds == 120
    assert api.relayer.signer_quota == 5 and api.relayer.chains[0].rpc_url == "http://127.0.0.1:2"
    # The shared top-level keys reach every component; the indexer's own ones (metrics_port, chains) do not.
    assert api.database_url == indexer.database_url == "sqlite:////tmp/from-file.db"
    assert api.relayer.deployments_dir == Path("/tmp/file-deployments")
    assert api.relayer.metrics_port is None


def test_config_file__environment_wins(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DM3_CONFIG", str(config_file))
    monkeypatch.setenv("DM3_API_MAX_BATCH", "12")
    monkeypatch.setenv("DM3_API_CHANGES_MAX_WAIT", "1.5")
    monkeypatch.setenv("DM3_GATEWAY_TTL_SECONDS", "60")
    monkeypatch.setenv("DM3_DATABASE_URL", "sqlite:////tmp/from-env.db")
    api = ApiSettings()
    assert (api.max_batch, api.changes.max_wait, api.gateway.ttl_seconds) == (12, 1.5, 60)
    assert api.database_url == api.relayer.database_url == "sqlite:////tmp/from-env.db"
    assert api.relayer.signer_quota == 5  # the file still counts for what the environment leaves out


def test_dotenv__read_by_every_component(
    clean_env: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / ".env").write_text("DM3_LOG_LEVEL=WARNING\nDM3_API_MAX_BATCH=9\n")
    monkeypatch.setenv("DM3_CONFIG", str(config_file))
    assert IndexerSettings().log_level == "WARNING"  # .env wins over the file
    assert ApiSettings().max_batch == 9


def test_load__explicit_file__reaches_nested_settings_and_leaves_environment_alone(config_file: Path) -> None:
    before = dict(os.environ)
    api = ApiSettings.load(config_file)
    indexer = load_settings(config_file)
    assert dict(os.environ) == before
    assert "DM3_CONFIG" not in os.environ
    assert (api.max_batch, api.changes.max_wait, api.relayer.signer_quota) == (77, 3.5, 5)
    assert indexer.log_level == "DEBUG"
    # Outside `load`, the file no longer applies.
    assert ApiSettings().max_batch == 1_000


def test_load__overrides_win(config_file: Path) -> None:
    assert load_settings(config_file, log_level="ERROR").log_level == "ERROR"


@pytest.mark.parametrize(
    ("name", "text", "phrase"),
    [
        ("missing.toml", None, "not a file"),
        ("bad.toml", "max_batch = [", "bad.toml"),
        ("bad.yaml", "a: [", "bad.yaml"),
        ("list.yaml", "- 1\n- 2\n", "must be a mapping"),
        ("table.toml", "api = 5\n", "[api] must be a table"),
        ("config.ini", "x=1", "use a .toml, .yaml or .yml file"),
    ],
)
def test_config_file__unusable__config_error(
    clean_env: Path, name: str, text: str | None, phrase: str
) -> None:
    path = clean_env / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(phrase)):
        ApiSettings.load(path)


def test_yaml_file__same_shape(clean_env: Path) -> None:
    path = clean_env / "dm3.yaml"
    path.write_text("database_url: sqlite:////tmp/y.db\napi:\n  max_batch: 5\n  changes:\n    heartbeat: 2\n")
    api = ApiSettings.load(path)
    assert (api.database_url, api.max_batch, api.changes.heartbeat) == ("sqlite:////tmp/y.db", 5, 2.0)


def test_invalid_value__config_error_naming_the_field(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DM3_API_MAX_BATCH", "0")
    with pytest.raises(ConfigError, match="max_batch"):
        ApiSettings.load()
    monkeypatch.setenv("DM3_RELAYER_CHAINS", "not json")
    with pytest.raises(ConfigError, match="invalid configuration"):
        RelayerSettings.load()


def _env_names(cls: type[BaseSettings]) -> set[str]:
    prefix = cls.model_config.get("env_prefix", "")
    names: set[str] = set()
    for field_name, field in cls.model_fields.items():
        names.add(f"{prefix}{field_name}".upper())
        choices = getattr(field.validation_alias, "choices", [])
        names.update(str(choice) for choice in choices if str(choice).isupper())
    return names


def _readme_env_names() -> set[str]:
    """Every `DM3_…` name of the README's configuration table (`_SUFFIX` abbreviations expanded)."""
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| setting | env | default |") :].split("\n\n", 1)[0]
    names: set[str] = set()
    for row in table.splitlines():
        env = row.split("|")[2] if row.count("|") >= 4 else ""
        full = re.findall(r"`(DM3_[A-Z0-9_]+)`", env)
        names.update(full)
        if full:
            prefix = "_".join(full[0].split("_")[:2])  # DM3_RELAYER_SIGNER_QUOTA -> DM3_RELAYER
            names.update(prefix + short for short in re.findall(r"`(_[A-Z0-9_]+)`", env))
    return names


def test_readme_names__all_read() -> None:
    readme = _readme_env_names()
    read = set().union(*(_env_names(cls) for cls in SETTINGS_CLASSES)) | {"DM3_CONFIG"}
    assert len(readme) > 40
    assert readme <= read, f"README names no settings class reads: {sorted(readme - read)}"
