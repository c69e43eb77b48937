"""Proofs of the contracts' storage: which slots hold a fact (`slots`), verifying `eth_getProof` answers against a
block header (`verify`, through py-trie), fetching them from a node (`rpc`), and the resolver's proof-mode witness
(`witness`). No SQL, no HTTP routes: the read API, the Python client and the gateway build on these."""
