"""Run the whole system locally on the embedded PostgreSQL: python -m launcher."""
