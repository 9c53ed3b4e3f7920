"""The community's reads, one module per part."""
