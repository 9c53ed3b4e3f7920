"""The auctions tasks."""
