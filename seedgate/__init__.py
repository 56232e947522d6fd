"""seedgate: a self-hosted, Seedance-compatible video generation server."""

__version__ = "0.1.0"
