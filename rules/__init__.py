"""Escalation rules: policies as data, decided by durable_rules."""
