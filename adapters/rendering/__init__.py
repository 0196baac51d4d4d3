"""Rendering: accountability reports and the bulletin (templates), and the living documentation of the feature files."""
