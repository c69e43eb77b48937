"""Query modules of the read API: rows read in one snapshot and turned into response models (no FastAPI)."""
