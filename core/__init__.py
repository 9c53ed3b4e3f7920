"""What every app shares and no app owns (see the README's architecture section)."""
