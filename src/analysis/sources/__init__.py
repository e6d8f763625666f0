"""Data sources: one module per source (address, content checks, reader), and the fetch machinery."""
