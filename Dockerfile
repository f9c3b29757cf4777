# One image, every imgjob process: `docker run IMAGE gateway` (gunicorn), `IMAGE scheduler`, `IMAGE migrate`,
# ... (scripts/container/entrypoint.sh). The runtime stage writes only under /tmp and the /data volume, so it
# runs with a read-only root file system (compose: read_only; Kubernetes: readOnlyRootFilesystem).
# No browser inside: the scraper drives a Selenium Grid (IMGJOB_BROWSER_URL).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/imgjob
WORKDIR /src
COPY pyproject.toml ./
# The dependencies alone, in a layer of their own: rebuilt when pyproject.toml changes, not on every source change.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && /opt/imgjob/bin/pip install -r requirements.txt
COPY README.md ./
COPY shared ./shared
COPY services ./services
RUN /opt/imgjob/bin/pip install --no-deps .

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 imgjob \
    && useradd --system --uid 10001 --gid imgjob --home-dir /data --no-create-home --shell /usr/sbin/nologin imgjob \
    && install -d -o imgjob -g imgjob -m 0750 /data
COPY --from=build /opt/imgjob /opt/imgjob
COPY --chmod=0755 scripts/container/entrypoint.sh /usr/local/bin/imgjob-entrypoint
# In a container the ops port must answer probes and Prometheus from outside, and logs go to a collector.
ENV PATH=/opt/imgjob/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    IMGJOB_OPS_HOST=0.0.0.0 \
    IMGJOB_LOG_FORMAT=json
# The embedded adapters' relative paths (var/...) land in the volume: `IMAGE up` keeps its data there.
WORKDIR /data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000 9100
ENTRYPOINT ["imgjob-entrypoint"]
CMD ["--help"]
