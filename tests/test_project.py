"""The project's own checks, so that CI enforces them: migrations, lint, compose file."""

import os
import shutil
import subprocess
import sys

import pytest

from .processes import ROOT


def run(*command, env=None):
    return subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_migrations_match_the_models():
    result = run(
        sys.executable,
        "manage.py",
        "makemigrations",
        "--check",
        "--dry-run",
        env={"DJANGO_SETTINGS_MODULE": "tests.settings"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean():
    result = run(sys.executable, "-m", "ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_compose_file_is_valid():
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        command = ["docker", "compose", "config", "--quiet"]
    elif shutil.which("docker-compose"):
        command = ["docker-compose", "config", "--quiet"]
    else:
        pytest.fail("neither `docker compose` nor `docker-compose` is installed")
    result = run(*command)
    assert result.returncode == 0, result.stdout + result.stderr
