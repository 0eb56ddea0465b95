"""Load the platform catalogues and the ratings files into PostgreSQL."""
