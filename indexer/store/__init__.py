"""SQL storage: tables (models), engines (db), schema migrations (migrations/) and the block-batch writer."""
