"""The adapter service: dudao's HTTP API (FastAPI) under /api/v1."""
