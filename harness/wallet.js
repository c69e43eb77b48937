// An EIP-1193 wallet injected into the page for the browser tests (announced through EIP-6963 and as
// window.ethereum). It holds no key: every call goes to the devnet's anvil through `window.__anvilRpc`, where the
// dev accounts are unlocked, so each signature and transaction is anvil's real one. The test steers it through
// `window.__wallet` (account, chain, which requests the "person" declines).
(() => {
  const config = window.__walletConfig;
  const listeners = new Map();
  const wallet = {
    account: config.account,
    chainId: config.chainId,
    knownChains: config.knownChains,
    connected: false,
    decline: new Set(), // "connect", "sign", "switch"
    log: [],
  };
  window.__wallet = wallet;
  const emit = (event, value) => (listeners.get(event) || []).forEach((f) => f(value));
  const fail = (code, message, data) => Object.assign(new Error(message), { code, data });
  const hex = (n) => "0x" + n.toString(16);

  const provider = {
    isDevnetTestWallet: true,
    async request({ method, params = [] }) {
      wallet.log.push(method);
      switch (method) {
        case "eth_requestAccounts":
          if (wallet.decline.has("connect")) throw fail(4001, "User rejected the request.");
          wallet.connected = true;
          return [wallet.account];
        case "eth_accounts":
          return wallet.connected ? [wallet.account] : [];
        case "eth_chainId":
          return hex(wallet.chainId);
        case "net_version":
          return String(wallet.chainId);
        case "wallet_switchEthereumChain": {
          if (wallet.decline.has("switch")) throw fail(4001, "User rejected the request.");
          const id = Number(params[0].chainId);
          if (!wallet.knownChains.includes(id)) throw fail(4902, `Unrecognized chain ID ${hex(id)}.`);
          wallet.chainId = id;
          emit("chainChanged", hex(id));
          return null;
        }
        case "wallet_addEthereumChain":
          throw fail(4001, "User rejected the request.");
        case "personal_sign":
        case "eth_sign":
        case "eth_signTypedData_v4":
        case "eth_sendTransaction":
          if (!wallet.connected) throw fail(4100, "The requested account has not been authorized.");
          if (wallet.decline.has("sign")) throw fail(4001, "User rejected the request.");
          break;
      }
      const answer = await window.__anvilRpc(wallet.chainId, method, params);
      if (answer.error) throw fail(answer.error.code, answer.error.message, answer.error.data);
      return answer.result;
    },
    on(event, listener) {
      listeners.set(event, [...(listeners.get(event) || []), listener]);
    },
    removeListener(event, listener) {
      listeners.set(event, (listeners.get(event) || []).filter((f) => f !== listener));
    },
  };
  window.ethereum = provider;
  const info = Object.freeze({
    uuid: "5f0c6d3e-2b1a-4e8f-9a7d-devnet000001",
    name: "Devnet test wallet",
    icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E",
    rdns: "org.dm3.devnet-test-wallet",
  });
  const announce = () =>
    window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})();
