"""The deployment files agree with each other (docker compose is not installed in CI, so
`docker compose config` cannot check them; the nginx config itself runs in the e2e tests)."""

from __future__ import annotations

from pathlib import Path

import yaml

from core.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_two_apps_behind_nginx_on_mariadb_and_redis() -> None:
    services = compose()["services"]
    assert set(services) == {"app1", "app2", "nginx", "mariadb", "redis"}
    app1, app2 = services["app1"], services["app2"]
    assert app1["environment"] == app2["environment"]  # one deployment, one configuration
    env = app1["environment"]
    assert env["DATABASE_URL"].startswith("mysql+pymysql://") and "@mariadb:" in env["DATABASE_URL"]
    assert env["NICEGUI_REDIS_URL"].startswith("redis://redis:")
    assert app1["volumes"] == app2["volumes"]  # files uploaded on one are served by the other
    # Every variable the apps get is a real setting (a typo would be silently ignored).
    fields = {name.upper() for name in Settings.model_fields}
    assert set(env) <= fields, set(env) - fields


def test_nginx_mounts_the_tested_config_and_waits_for_healthy_apps() -> None:
    nginx = compose()["services"]["nginx"]
    source = nginx["volumes"][0].split(":")[0]
    assert (ROOT / source).resolve() == (ROOT / "deploy" / "nginx.conf")
    assert nginx["depends_on"] == {
        "app1": {"condition": "service_healthy"},
        "app2": {"condition": "service_healthy"},
    }
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    for needed in ("hash $studio_affinity consistent;", "server app1:8080", "server app2:8080"):
        assert needed in config


def test_the_image_checks_its_health_on_the_health_route() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    healthcheck = dockerfile[dockerfile.index("HEALTHCHECK") :].split("CMD [")[0]
    assert "/health" in healthcheck
