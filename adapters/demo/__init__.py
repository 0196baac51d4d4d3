"""The demo: a year of supervision on the sample plans, and its HTTP tour."""
