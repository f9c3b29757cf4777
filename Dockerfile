# One image, many entrypoints: `imgjob gateway|scheduler|scraper|packager|notifier|janitor|migrate`.
FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium chromium-driver \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 imgjob
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install --no-cache-dir .
USER imgjob
ENV IMGJOB_BROWSER_URL=local
EXPOSE 8000
ENTRYPOINT ["imgjob"]
CMD ["up", "--host", "0.0.0.0"]
