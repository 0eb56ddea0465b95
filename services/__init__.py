"""The HTTP services: catalog, recommender and gateway."""
