"""The API contracts that the services and the gateway share: query parameters and request and
response models, declared once. pydantic and FastAPI only (no database driver, no NumPy), so
every image can carry it, and no service imports another service's package."""
