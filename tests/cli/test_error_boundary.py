"""One error root: the errors a person can act on are `UserError`s, and every command-line boundary turns them (and
a database the environment broke) into one redacted line; a bug keeps its traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from sqlalchemy.exc import OperationalError

from indexer.chain.rpc import RpcError, RpcTimeout
from indexer.cli_errors import Fail, user_errors
from indexer.deploy.errors import DeployError, RecordChainMismatch
from indexer.devnet.anvil import DevnetError
from indexer.errors import Dm3Error, UserError
from indexer.gateway.signer import GatewayKeyError
from indexer.relayer.lease import SenderLocked
from indexer.relayer.sender import SenderError
from indexer.settings.base import ConfigError
from indexer.settings.relayer import RelayerKeyError
from indexer.store.lock import ChainLocked, LeaseLost
from indexer.store.retry import DatabaseUnavailable
from indexer.store.writer import CheckpointMismatch, ContractsChanged
from indexer.sync.errors import ReorgTooDeep, SyncError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "error",
    [
        ConfigError,
        ChainLocked,
        SenderLocked,
        LeaseLost,
        DatabaseUnavailable,
        ContractsChanged,
        CheckpointMismatch,
        SyncError,
        RpcError,
        RpcTimeout,
        GatewayKeyError,
        RelayerKeyError,
        SenderError,
        DeployError,
        RecordChainMismatch,
        DevnetError,
    ],
)
def test_user_errors__one_root(error: type[Exception]) -> None:
    assert issubclass(error, UserError) and issubclass(error, Dm3Error)


def test_boundary__user_error__one_line_without_the_url_secret(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(Fail) as caught, user_errors("dm3-test"):
        raise RpcError("cannot reach https://user:pw@node.example/v3/key123: refused")
    caught.value.show()
    err = capsys.readouterr().err
    assert err == "dm3-test: error: cannot reach https://node.example: refused\n"


def test_boundary__database_error__says_database() -> None:
    with (
        pytest.raises(Fail, match=r"^database unavailable: \(builtins.Exception\) connection refused$"),
        user_errors("dm3-test"),
    ):
        raise OperationalError("SELECT 1", {}, Exception("connection refused\nmore detail"))


def test_boundary__reorg_too_deep__message_kept() -> None:
    with pytest.raises(Fail, match="reorg deeper than the 8-block window"), user_errors("dm3-test"):
        raise ReorgTooDeep(chain="op", indexed_block=100, window=8)


def test_boundary__bug__passes_through() -> None:
    with pytest.raises(KeyError), user_errors("dm3-test"):
        raise KeyError("a bug keeps its traceback")
    assert not issubclass(KeyError, click.ClickException)


def test_api_server__bad_setting__one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "indexer.api", "--port", "1"],
        env={"PATH": "/usr/bin:/bin", "DM3_API_MAX_BATCH": "0", "DM3_GATEWAY_PRIVATE_KEY": "0xnot-a-key"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("dm3-api: error: invalid configuration: max_batch"), done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_api_server__bad_gateway_key__one_line_without_the_key(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "indexer.api", "--port", "1", "--workers", "2"],
        env={"PATH": "/usr/bin:/bin", "DM3_GATEWAY_PRIVATE_KEY": "0xnot-a-key-secret"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("dm3-api: error: "), done.stderr
    assert "Traceback" not in done.stderr and "not-a-key-secret" not in done.stderr


@pytest.mark.parametrize(
    "rpc_urls",
    [
        '{"ten": "https://user:hunter2@node.example/v3/secret-api-key"}',  # a key that is no chain id
        '{"10": "https://user:hunter2@node.example/v3/secret-api-key",}',  # not JSON
        '["https://user:hunter2@node.example/v3/secret-api-key"]',  # not a table
        "https://user:hunter2@node.example/v3/secret-api-key",  # a bare URL
    ],
)
def test_api_server__bad_rpc_urls__one_line_without_the_url(tmp_path: Path, rpc_urls: str) -> None:
    """DM3_API_RPC_URLS carries API keys: a malformed value is refused in one line that shows none of it."""
    done = subprocess.run(
        [sys.executable, "-m", "indexer.api", "--port", "1"],
        env={"PATH": "/usr/bin:/bin", "DM3_API_RPC_URLS": rpc_urls},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("dm3-api: error: invalid configuration:"), done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    for secret in ("hunter2", "secret-api-key", "node.example"):
        assert secret not in done.stderr + done.stdout
