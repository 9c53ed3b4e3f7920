"""Outgoing webhooks to the brand's own systems (docs/webhooks.md): the event types
(`events`), the signature (`signing`), the check that a target is a public address and the
connection pinned to it (`addresses`), the HTTP POST (`http`), the receivers of the loyalty and
catalogue signals (`receivers`) and the outbox task (`tasks`). The writes are in
`messaging.services.webhooks`, the reads in `messaging.selectors.webhooks`."""
