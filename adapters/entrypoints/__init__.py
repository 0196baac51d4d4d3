"""Inbound entry points: the command line, the HTTP API, the web pages, the server and its background tasks."""
