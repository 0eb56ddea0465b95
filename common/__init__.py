"""Code shared by the loader and the services: tables, engine, settings, embedded PostgreSQL."""
