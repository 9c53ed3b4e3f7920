"""The live tasks."""
