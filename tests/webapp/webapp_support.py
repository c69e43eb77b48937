"""Support for the browser tests of the inbox app (imported as `webapp_support`; tests/ is not a package): one devnet for the module (L1 with ENS, three L2s with the dm3 contracts, the
real indexer and API serving `/app`), Debian's chromium driven by Playwright, and a test wallet injected into the
page that forwards every call to anvil's unlocked dev accounts, so every signature and transaction is real."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3
from web3.contract import Contract

from indexer.deploy.web3_deployer import load_ape_artifacts
from indexer.devnet import DevnetOptions, down, services, up
from indexer.devnet.constants import dev_account
from indexer.devnet.files import DevnetState

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WALLET_SCRIPT = (Path(__file__).parent / "wallet.js").read_text()
SCREENSHOTS = ROOT / "docs" / "screenshots"
TOKEN = 10**18
OP = 10


def _require_browser() -> None:
    missing = [what for what, ok in (("chromium", CHROMIUM.is_file()),) if not ok]
    if not (ROOT / "webapp" / "static" / "app.js").is_file():
        missing.append("the app bundle (make setup)")
    if missing:
        reason = f"browser tests need {', '.join(missing)}: run `make setup` (it installs chromium as root)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def _free_port_block(size: int) -> int:
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            base = int(sock.getsockname()[1])
        if base + size <= 65535 and all(_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no block of free ports")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class L2:
    """One devnet L2 through web3 (the dev accounts are unlocked on anvil: `transact` signs there)."""

    chain_id: int
    name: str
    rpc_url: str
    w3: Web3
    registry: Contract
    deposits: Contract
    token: Contract

    def send(self, call: Any, sender: str) -> dict[str, Any]:
        receipt = dict(self.w3.eth.wait_for_transaction_receipt(call.transact({"from": sender}), timeout=20))
        assert receipt["status"] == 1, f"transaction reverted: {receipt}"
        return receipt

    def mint(self, to: str, amount: int) -> None:
        self.send(self.token.functions.mint(to, amount), dev_account(0).address)

    def deposit(self, sender: str, recipient: str, amount: int) -> None:
        self.mint(sender, amount)
        self.send(self.token.functions.approve(self.deposits.address, amount), sender)
        self.send(self.deposits.functions.deposit(recipient, amount), sender)

    def bond(self, sender: str, recipient: str) -> tuple[int, int, bool]:
        return tuple(self.deposits.functions.bonds(sender, recipient).call())  # type: ignore[return-value]

    def rpc(self, method: str, params: list[Any]) -> Any:
        return self.w3.provider.make_request(method, params)  # type: ignore[arg-type]


@dataclass
class AppDevnet:
    state: DevnetState
    api_url: str
    l2s: dict[int, L2]
    rpc_urls: dict[int, str]

    @property
    def op(self) -> L2:
        return self.l2s[OP]

    def api(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.api_url}{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def wait_indexed(self, chain_id: int | None = None, timeout: float = 20) -> None:
        """Until the indexer has caught up with every chain's head (or `chain_id`'s)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.api("/v1/status")["data"]
            wanted = [r for r in rows if chain_id is None or r["chain_id"] == chain_id]
            heads = {cid: l2.w3.eth.block_number for cid, l2 in self.l2s.items()}
            if wanted and all(
                r["indexed_block"] is not None and r["indexed_block"] >= heads[r["chain_id"]] for r in wanted
            ):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the indexer did not catch up: {rows}")
            time.sleep(0.1)

    def relay_available(self, timeout: float = 30) -> bool:
        """Whether the relayer of Optimism is up (its process starts with the other services: wait for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = httpx.get(f"{self.api_url}/v1/relay/config", params={"chain_id": OP}, timeout=5)
            if response.status_code == 200 and response.json().get("enabled"):
                return True
            time.sleep(0.2)
        return False


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppDevnet]:
    _require_browser()
    directory = tmp_path_factory.mktemp("webapp-devnet")
    api_port = _free_port_block(1)
    options = DevnetOptions(
        project_root=ROOT,
        state_dir=directory,
        base_port=_free_port_block(4),
        gateway_port=api_port,
        database_url=f"sqlite:///{directory / 'dm3.db'}",
    )
    try:
        state = up(options)
        # A small per-signer relayer quota, so the quota test meets its 429 in a dozen requests (the API reads it
        # from the environment it is started with; the other tests send one or two relayed writes per signer).
        saved = os.environ.get("DM3_RELAYER_SIGNER_QUOTA")
        os.environ["DM3_RELAYER_SIGNER_QUOTA"] = "12"
        try:
            services.start(state, state_dir=options.directory, project_root=options.root, api_port=api_port)
        finally:
            if saved is None:
                os.environ.pop("DM3_RELAYER_SIGNER_QUOTA", None)
            else:
                os.environ["DM3_RELAYER_SIGNER_QUOTA"] = saved
        artifacts = load_ape_artifacts(ROOT)
        l2s = {}
        for chain in state.l2s:
            w3 = Web3(HTTPProvider(chain.rpc_url, request_kwargs={"timeout": 30}))

            def contract(name: str, w3: Web3 = w3, chain: Any = chain) -> Contract:
                return w3.eth.contract(
                    address=Web3.to_checksum_address(chain.contracts[name]), abi=artifacts[name].abi
                )

            l2s[chain.chain_id] = L2(
                chain.chain_id, chain.ecosystem, chain.rpc_url, w3,
                contract("ProfileRegistry"), contract("InboxDeposits"), contract("Dm3Token"),
            )  # fmt: skip
        app_devnet = AppDevnet(
            state=state,
            api_url=f"http://127.0.0.1:{api_port}",
            l2s=l2s,
            rpc_urls={c.chain_id: c.rpc_url for c in state.chains},
        )
        app_devnet.wait_indexed()
        yield app_devnet
    finally:
        down(options)


@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="dm3-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_ARGS,
                accept_downloads=True,
                viewport={"width": 1100, "height": 900},
            )
            context.set_default_timeout(20_000)
            yield context
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def account(index: int) -> LocalAccount:
    """Dev account `index` (unlocked on anvil). 0 owns the contracts; the tests use 1-8, one role each."""
    return dev_account(index)


@pytest.fixture
def open_app(devnet: AppDevnet, browser_context: Any) -> Iterator[Callable[..., Any]]:
    """`open_app(account, chain_id=10, wallet=True)`: a fresh page of the app with the test wallet for `account`
    on `chain_id` (not connected yet), or with no wallet at all."""
    pages: list[Any] = []

    def forward(chain_id: int, method: str, params: list[Any]) -> dict[str, Any]:
        url = devnet.rpc_urls.get(int(chain_id))
        if url is None:
            return {"error": {"code": 4901, "message": f"chain {chain_id} is not connected"}}
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        return dict(httpx.post(url, json=body, timeout=30).json())

    def open_page(
        who: LocalAccount | None, chain_id: int = OP, *, wallet: bool = True, viewport: Any = None
    ) -> Any:
        page = browser_context.new_page()
        pages.append(page)
        # The page's console and errors land in the test's captured output (shown when it fails).
        page.on("console", lambda m: print(f"[console.{m.type}] {m.text}"))
        page.on("pageerror", lambda e: print(f"[pageerror] {e}"))
        if viewport:
            page.set_viewport_size(viewport)
        if wallet and who is not None:
            config = {"account": who.address, "chainId": chain_id, "knownChains": sorted(devnet.rpc_urls)}
            page.expose_function("__anvilRpc", forward)
            page.add_init_script(f"window.__walletConfig = {json.dumps(config)};")
            page.add_init_script(WALLET_SCRIPT)
        page.goto(f"{devnet.api_url}/app/")
        page.wait_for_selector("body[data-ready=true]")
        return page

    yield open_page
    for page in pages:
        page.close()


def connect(page: Any) -> None:
    page.get_by_role("button", name="Connect wallet").first.click()
    page.wait_for_selector("body[data-wallet=ready]")


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
