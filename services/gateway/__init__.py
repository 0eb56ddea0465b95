"""The gateway: one public API and the web page, over the catalog and the recommender."""
