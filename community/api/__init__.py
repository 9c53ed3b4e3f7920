"""The community's part of the brand REST API, one module per part."""
