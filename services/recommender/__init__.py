"""The recommender: trains scikit-surprise SVD on the ratings and serves its predictions."""

import os

# Each request scores on one thread; BLAS's own thread pool would make concurrent requests
# fight over the cores (measured: top-10 at 8 concurrent requests fell from 580 to 100 req/s
# with 100 factors). Set before NumPy is first imported; the environment can still override.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
