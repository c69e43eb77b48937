"""dm3 registry indexer, read API and CCIP-read gateway."""
