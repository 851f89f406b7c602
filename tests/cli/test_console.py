"""The `rapport` console script itself, run as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RAPPORT = Path(sys.executable).with_name("rapport")


@pytest.fixture
def env(tmp_path):
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("RAPPORT_") and key not in ("DJANGO_SETTINGS_MODULE", "LC_ALL")
    }
    environment.update(
        LANG="C.UTF-8",
        RAPPORT_VAR_DIR=str(tmp_path),
        RAPPORT_DATABASE_URL=f"sqlite:///{tmp_path / 'rapport.sqlite3'}",
    )
    return environment


def rapport(env, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(RAPPORT), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def test_help_lists_the_rapport_commands(env):
    result = rapport(env, "--help")
    assert result.returncode == 0
    for command in ("user", "role", "audit", "demo", "serve"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("user", "set-roles"),
        ("role", "grant"),
        ("audit", "verify"),
        ("demo", "--if-empty"),
        ("check", "unsafe settings"),
        ("serve", "--no-worker"),
    ],
)
def test_command_help(env, command, expected):
    result = rapport(env, command, "--help")
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


def test_check_fails_with_the_default_secret_key(env):
    result = rapport(env, "check")
    assert result.returncode != 0
    assert "rapport.E002" in result.stdout + result.stderr


def test_errors_exit_non_zero_and_success_exits_zero(env):
    assert rapport(env, "migrate", "--no-input", "-v", "0").returncode == 0
    created = rapport(
        env,
        "user",
        "create",
        "root",
        "--superuser",
        "--password-stdin",
        stdin="Rapport-Root-2026\n",
    )
    assert created.returncode == 0, created.stderr
    duplicate = rapport(env, "user", "create", "ROOT")
    assert duplicate.returncode == 1
    assert "username: " in duplicate.stderr
    verified = rapport(env, "audit", "verify")
    assert verified.returncode == 0
    assert "events checked" in verified.stdout
