"""The backoffice's auctions lists and forms."""
