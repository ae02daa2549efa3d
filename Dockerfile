# guildmind's image: Ray's own image (same Ray and Python as pyproject pins) plus guildmind.
# One image for every role: Ray head (which also runs the guildmind driver), Ray workers, and the
# KubeRay pods. Build:  docker build -t guildmind:0.1.0 .
FROM rayproject/ray:2.60.0-py311

WORKDIR /opt/guildmind
COPY --chown=ray:users pyproject.toml README.md ./
COPY --chown=ray:users engine ./engine
COPY --chown=ray:users actions ./actions
COPY --chown=ray:users actors ./actors
COPY --chown=ray:users metrics ./metrics
COPY --chown=ray:users guildmind ./guildmind
COPY --chown=ray:users plugins ./plugins
COPY --chown=ray:users guildmind.example.toml ./
# A regular (not editable) install: every Ray worker process imports the same code from
# site-packages, so no runtime_env upload is needed when all nodes run this image.
RUN pip install --no-cache-dir . && python -c "import actors, engine, guildmind, metrics"

ENV RAY_USAGE_STATS_ENABLED=0 \
    PYTHONUNBUFFERED=1
# 9464: the driver's Prometheus service discovery (/sd) and its own /metrics.
EXPOSE 9464
CMD ["guildmind", "run", "--config", "/etc/guildmind/guildmind.toml"]
