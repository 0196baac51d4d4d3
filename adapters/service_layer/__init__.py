"""The service layer: the Dudao application and its use cases (findings, action plans, the sweep, audit)."""
