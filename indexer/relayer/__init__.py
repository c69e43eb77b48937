"""The relayer: carries EIP-712 signed writes for users without gas (accept in the API, send per chain)."""
