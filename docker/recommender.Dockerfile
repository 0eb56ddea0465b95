# The recommender image, used twice by docker-compose.yml: the trainer job
# (python -m services.recommender.train) and the service (python -m services.recommender,
# port 8002). Both find the model files in MODEL_DIR.
# Build context is the project root: docker build -f docker/recommender.Dockerfile .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# A fixed UID gives files on volumes a predictable owner.
RUN useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies before code, so that a code change reuses this layer: with no package folders
# copied yet, the streamrec wheel carries only its metadata, and the code runs from /app.
# The lock is a constraints file: only the recommender extra, at the versions CI tests.
# --only-binary: scikit-surprise publishes manylinux wheels for CPython 3.11 (x86_64 and
# aarch64), so no compiler is needed; should a version lack one, fail here, not mid-compile.
COPY pyproject.toml README.md requirements.lock ./
RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore \
        --only-binary=:all: -c requirements.lock '.[recommender]' \
    && rm -rf build ./*.egg-info

COPY common/ common/
COPY contracts/ contracts/
COPY services/__init__.py services/
COPY services/recommender/ services/recommender/
COPY docker/healthcheck.py docker/

# An empty named volume mounted here starts as a copy of this folder, owner included: without
# it the volume would belong to root and the trainer, running as app, could not write a model.
RUN install -d -o app -g app /models

USER app
# 0.0.0.0: the default 127.0.0.1 would be unreachable from the other containers.
# SURPRISE_DATA_FOLDER: importing scikit-surprise creates this folder (default ~/.surprise_data)
# and fails when it cannot; /tmp is writable whatever UID the container runs as.
ENV HOST=0.0.0.0 \
    PORT=8002 \
    MODEL_DIR=/models \
    SURPRISE_DATA_FOLDER=/tmp/surprise_data
EXPOSE 8002
CMD ["python", "-m", "services.recommender"]
