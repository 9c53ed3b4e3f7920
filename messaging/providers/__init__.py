"""Providers: one small class per channel and provider, whose `send` is the one method that talks to
the outside world (`base.Provider`). Without credentials a channel sends to the development outbox."""
