"""The council's rules: a pure domain with no I/O (see ARCHITECTURE in the docs)."""
