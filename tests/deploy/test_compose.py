"""docker-compose.temporal.yml as Debian's `docker-compose` reads it (no engine needed for `config`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
COMPOSE = ROOT / "docker-compose.temporal.yml"
NEUROSELLER = ("worker-1", "worker-2", "telegram")

pytestmark = pytest.mark.skipif(shutil.which("docker-compose") is None,
                                reason="docker-compose missing: apt-get install docker-compose (.ci/run does)")


def compose_config(tmp_path: Path, env: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(COMPOSE, tmp_path / COMPOSE.name)
    (tmp_path / ".env").write_text(env)
    return subprocess.run(["docker-compose", "-f", COMPOSE.name, "config"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("compose")
    env = (ROOT / ".env.example").read_text() + "TEMPORAL_DB_PASSWORD=t-secret\nNEUROSELLER_DB_PASSWORD=n-secret\n"
    done = compose_config(tmp, env)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def test_every_process_of_the_system_is_a_service(config: dict) -> None:
    assert set(config["services"]) == {"temporal-postgresql", "temporal-schema", "temporal", "temporal-setup",
                                       "temporal-ui", "neuroseller-postgresql", *NEUROSELLER}


def test_temporal_schema_comes_from_the_sql_tool_not_auto_setup(config: dict) -> None:
    services = config["services"]
    assert not any("auto-setup" in s.get("image", "") for s in services.values())
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert "temporal-sql-tool" in " ".join(services["temporal-schema"]["command"])
    assert "update-schema" in " ".join(services["temporal-schema"]["command"])
    assert services["temporal"]["depends_on"]["temporal-schema"]["condition"] == "service_completed_successfully"


def test_our_search_attributes_are_registered(config: dict) -> None:
    from workflows.search_attributes import ALL

    script = " ".join(config["services"]["temporal-setup"]["command"])
    for attribute in ALL:
        assert f"--name {attribute.name}" in script


def test_long_running_services_have_healthchecks(config: dict) -> None:
    for name, service in config["services"].items():
        if service.get("restart") == "no":
            continue  # one-shot jobs
        assert service.get("healthcheck", {}).get("test"), name


def test_neuroseller_processes_share_one_image_and_read_secrets_from_env(config: dict) -> None:
    services = config["services"]
    assert {services[n]["image"] for n in NEUROSELLER} == {"neuroseller:latest"}
    assert [services[n]["command"] for n in NEUROSELLER] == [["worker"], ["worker"], ["telegram"]]
    for name in NEUROSELLER:
        env = services[name]["environment"]
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert env["DATABASE_URL"].endswith("@neuroseller-postgresql:5432/neuroseller")
        assert "n-secret" in env["DATABASE_URL"]  # from .env, not from the compose file
    assert services["worker-1"]["healthcheck"]["test"][-1] == "worker"
    assert services["telegram"]["healthcheck"]["test"][-1] == "telegram"


def test_the_compose_file_holds_no_password(tmp_path: Path) -> None:
    text = COMPOSE.read_text()
    assert "t-secret" not in text and "temporal:temporal" not in text
    refused = compose_config(tmp_path, "")
    assert refused.returncode != 0
    assert "TEMPORAL_DB_PASSWORD" in refused.stderr or "NEUROSELLER_DB_PASSWORD" in refused.stderr


def test_state_lives_in_volumes(config: dict) -> None:
    assert {"temporal-db", "neuroseller-db"} <= set(config["volumes"])
    services = config["services"]
    assert any("/var/lib/postgresql/data" in v for v in services["temporal-postgresql"]["volumes"])
    assert any("/var/lib/postgresql/data" in v for v in services["neuroseller-postgresql"]["volumes"])


def test_dockerfile_is_slim_non_root_and_one_image() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "-slim" in text
    assert "\nUSER neuroseller" in text
    assert 'ENTRYPOINT ["neuroseller"]' in text
