"""The council's domain and use cases, free of I/O frameworks (docs/ARCHITECTURE.md)."""
