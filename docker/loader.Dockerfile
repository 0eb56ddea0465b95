# The loader: a one-shot job, python -m loader, reading the data folder mounted at /data.
# Build context is the project root: docker build -f docker/loader.Dockerfile .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# A fixed UID gives files on volumes a predictable owner.
RUN useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies before code, so that a code change reuses this layer: with no package folders
# copied yet, the streamrec wheel carries only its metadata (the loader records its version in
# every load), and the code runs from /app.
# The lock is a constraints file: only the loader extra (the loader and its insights report),
# at the versions CI tests.
# --only-binary: the slim base has no compiler; a dependency without a wheel fails here.
COPY pyproject.toml README.md requirements.lock ./
RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore \
        --only-binary=:all: -c requirements.lock '.[loader]' \
    && rm -rf build ./*.egg-info

COPY common/ common/
COPY loader/ loader/
# The loader applies migrations/ itself; alembic.ini lets `alembic upgrade head` run here too.
COPY migrations/ migrations/
COPY alembic.ini ./
# The report job writes here; a new named volume takes this owner.
RUN install -d -o app -g app /report

USER app
CMD ["python", "-m", "loader", "--titles-dir", "/data/titles", "--ratings-dir", "/data/ratings"]
