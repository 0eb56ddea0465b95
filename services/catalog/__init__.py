"""The catalog service: the four catalogue queries and title browsing, answered with SQL."""
