from indexer.relayer.cli import main

main()
