# prisme-deploy for CI jobs: the headless CLI only. Tokens come from the environment
# (PRISME_DEPLOY_TOKEN or PRISME_DEPLOY_TOKEN_<ENV>), never from a keyring or a file.
#   docker build --build-arg PRISME_DEPLOY_VERSION=0.1.0 -t prisme-deploy .
FROM python:3.11-slim

ARG PRISME_DEPLOY_VERSION=0.1.0

# git: diffs of repository versions read git history.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

RUN pip install --no-cache-dir "prisme-deploy==${PRISME_DEPLOY_VERSION}"

RUN useradd --create-home --uid 10001 prisme
USER prisme
WORKDIR /home/prisme

# No keyring in a container: the null backend, so nothing waits on a D-Bus that is not there.
ENV PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring \
    CI=true \
    PYTHONUNBUFFERED=1

ENTRYPOINT ["prisme-deploy"]
CMD ["--help"]
