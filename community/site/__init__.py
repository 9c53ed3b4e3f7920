"""The member site's community pages, one module per part (README "Community")."""
