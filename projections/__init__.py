"""Read models built from the event log (SQLAlchemy) and the reports drawn from them."""
