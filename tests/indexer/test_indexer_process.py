"""The `dm3-indexer` process: SIGKILL mid-backfill and restart, SIGTERM, the writer lock, two chains, CLI errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fault_proxy import FaultProxy, Faults
from indexer_support import (
    Anvil,
    Devnet,
    assert_matches_views,
    dump,
    fresh_engine,
    run_scenario,
    sync_ok,
)
from sqlalchemy import select

from indexer.store import models
from indexer.store.db import create_db_engine
from indexer.store.lock import ChainLock

CLI = str(Path(sys.executable).parent / "dm3-indexer")


def _env(db_url: str, chains: list[dict[str, Any]]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DM3_") and k != "DATABASE_URL"}
    env.update(DM3_DATABASE_URL=db_url, DM3_CHAINS=json.dumps(chains), DM3_LOG_LEVEL="INFO")
    return env


def _chain_json(devnet: Devnet, rpc_url: str, **extra: Any) -> dict[str, Any]:
    spec = devnet.spec()
    return {
        "name": spec.name,
        "chain_id": spec.chain_id,
        "rpc_url": rpc_url,
        "parent_name": spec.parent_name,
        "registry": {"address": spec.registry.address, "start_block": spec.registry.start_block},  # type: ignore[union-attr]
        "deposits": {"address": spec.deposits.address, "start_block": spec.deposits.start_block},  # type: ignore[union-attr]
        **extra,
    }


def _indexed(db_url: str, chain_id: int) -> int | None:
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            table = models.Chain.__table__  # type: ignore[attr-defined]
            return conn.execute(select(table.c.indexed_block).where(table.c.chain_id == chain_id)).scalar()
    except Exception:  # schema not created yet
        return None
    finally:
        engine.dispose()


def _wait_indexed(
    db_url: str, chain_id: int, above: int, proc: subprocess.Popen[bytes], timeout: float = 60
) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = _indexed(db_url, chain_id)
        if value is not None and value > above:
            return value
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("indexer made no progress")


@pytest.fixture
def slow_proxy(devnet: Devnet) -> Any:
    proxy = FaultProxy(devnet.anvil.url, Faults(delay=0.01))
    yield proxy
    proxy.stop()


def test_sigkill_mid_backfill__restart__equals_uninterrupted_run(
    devnet: Devnet, slow_proxy: FaultProxy, tmp_path: Any
) -> None:
    touched = run_scenario(devnet, seed=61, steps=80)
    head = devnet.anvil.block_number()
    url = f"sqlite:///{tmp_path}/crash.db"
    env = _env(
        url, [_chain_json(devnet, slow_proxy.url, initial_block_range=1, max_block_range=1, concurrency=1)]
    )

    proc = subprocess.Popen([CLI, "sync"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reached = _wait_indexed(url, devnet.anvil.chain_id, devnet.registry.block + 10, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert reached < head, "the backfill finished before the kill: the test proves nothing"

    done = subprocess.run([CLI, "sync"], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()

    clean = fresh_engine(f"sqlite:///{tmp_path}/clean.db")
    sync_ok(clean, [devnet.spec()])
    crashed = create_db_engine(url)
    assert dump(crashed, devnet.anvil.chain_id) == dump(clean, devnet.anvil.chain_id)
    assert_matches_views(devnet, crashed, touched)


def test_sigterm_mid_backfill__stops_cleanly_then_resumes(
    devnet: Devnet, slow_proxy: FaultProxy, tmp_path: Any
) -> None:
    run_scenario(devnet, seed=62, steps=60)
    url = f"sqlite:///{tmp_path}/term.db"
    env = _env(
        url, [_chain_json(devnet, slow_proxy.url, initial_block_range=1, max_block_range=1, concurrency=2)]
    )

    proc = subprocess.Popen(
        [CLI, "run", "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _wait_indexed(url, devnet.anvil.chain_id, devnet.registry.block + 5, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err.decode()
    assert b"stopping after the current batch" in err
    assert b"Traceback" not in err

    done = subprocess.run([CLI, "sync"], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    clean = fresh_engine(f"sqlite:///{tmp_path}/clean.db")
    sync_ok(clean, [devnet.spec()])
    assert dump(create_db_engine(url), devnet.anvil.chain_id) == dump(clean, devnet.anvil.chain_id)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_second_writer__gets_a_clear_error(devnet: Devnet, tmp_path: Any, backend: str, request: Any) -> None:
    url = f"sqlite:///{tmp_path}/lock.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    engine = fresh_engine(url)
    with ChainLock(engine, devnet.anvil.chain_id):
        env = _env(url, [_chain_json(devnet, devnet.anvil.url)])
        result = subprocess.run([CLI, "sync"], env=env, capture_output=True, timeout=60)
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "is already being indexed" in err, err
    assert "Traceback" not in err
    engine.dispose()


def test_cli__status_and_errors(devnet: Devnet, tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    env = _env(url, [_chain_json(devnet, devnet.anvil.url)])
    assert (
        subprocess.run([CLI, "sync", "--no-progress"], env=env, capture_output=True, timeout=60).returncode
        == 0
    )
    status = subprocess.run([CLI, "status", "--json"], env=env, capture_output=True, timeout=60)
    rows = json.loads(status.stdout)
    assert rows[0]["chain_id"] == devnet.anvil.chain_id
    assert rows[0]["status"] == "live"
    assert rows[0]["indexed_block"] == devnet.anvil.block_number()

    bad_rpc = subprocess.run(
        [CLI, "sync"],
        env=_env(url, [_chain_json(devnet, "http://127.0.0.1:1", rpc_retries=2)]),
        capture_output=True,
        timeout=120,
    )
    assert (
        bad_rpc.returncode == 1 and b"cannot reach" in bad_rpc.stderr and b"Traceback" not in bad_rpc.stderr
    )
    wrong_chain = dict(_chain_json(devnet, devnet.anvil.url), chain_id=999)
    result = subprocess.run([CLI, "sync"], env=_env(url, [wrong_chain]), capture_output=True, timeout=60)
    assert result.returncode == 1 and b"serves chain id" in result.stderr
    bad_config = subprocess.run(
        [CLI, "status"], env={**env, "DM3_CHAINS": '[{"name": 1}]'}, capture_output=True
    )
    assert bad_config.returncode == 1 and b"invalid configuration" in bad_config.stderr


def test_config_file_and_deployment_file(devnet: Devnet, tmp_path: Any) -> None:
    """Addresses and start blocks from deployments/<ecosystem>-<network>.json; settings from a TOML file."""
    from indexer.deployments import DeployedContract, Deployment, save_deployment
    from indexer.settings.indexer import load_settings, resolve_chains

    deployment = Deployment(
        chain_id=devnet.anvil.chain_id,
        network="optimism:local",
        contracts={
            "ProfileRegistry": DeployedContract(
                address=devnet.registry.address,
                block=devnet.registry.block,
                args={"parent_name": "op.dm3.eth"},
            ),
            "InboxDeposits": DeployedContract(address=devnet.deposits.address, block=devnet.deposits.block),
        },
    )
    save_deployment(deployment, tmp_path / "deployments")
    config = tmp_path / "dm3.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path}/cfg.db"\ndeployments_dir = "{tmp_path}/deployments"\n'
        f'[[chains]]\nname = "op"\nchain_id = {devnet.anvil.chain_id}\nrpc_url = "{devnet.anvil.url}"\n'
    )
    settings = load_settings(config)
    (spec,) = resolve_chains(settings)
    assert spec.registry and spec.registry.address == devnet.registry.address
    assert spec.deposits and spec.deposits.start_block == devnet.deposits.block
    assert spec.parent_name == "op.dm3.eth"
    assert settings.database_url == f"sqlite:///{tmp_path}/cfg.db"


def test_two_chains__one_process(compiled: dict[str, Any], tmp_path: Any) -> None:
    nodes = [Anvil(chain_id=31_020), Anvil(chain_id=31_021)]
    try:
        nets = [Devnet(node, compiled) for node in nodes]
        touched = []
        for i, net in enumerate(nets):
            net.fund()
            touched.append(run_scenario(net, seed=70 + i, steps=40))
        engine = fresh_engine(f"sqlite:///{tmp_path}/two.db")
        sync_ok(engine, [nets[0].spec(name="op", concurrency=2), nets[1].spec(name="base", concurrency=2)])
        for net, t in zip(nets, touched, strict=True):
            assert_matches_views(net, engine, t)
            assert dump(engine, net.anvil.chain_id)["checkpoint"][0] == net.anvil.block_number()
    finally:
        for node in nodes:
            node.stop()
