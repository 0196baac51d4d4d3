"""Adapters: the service layer, storage, the command line and other entrypoints."""
