"""Every setting of every process, in one package: one pydantic-settings class per component."""
