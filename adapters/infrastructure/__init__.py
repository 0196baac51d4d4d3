"""Outbound infrastructure: the event store and its sealing recorders, the hash chain, group commit, the NATS outbox and notice messages, token and idempotency stores."""
