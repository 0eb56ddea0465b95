"""The recommender: trains scikit-surprise SVD on the ratings and serves its predictions."""
