"""`rapport serve` on a fresh SQLite installation: web answers, the embedded worker works.

This is what `make run` starts, so it runs as real processes: a migrated database under a
temporary RAPPORT_VAR_DIR, the web server, and the embedded Celery worker + beat whose
scheduled outbox relay must deliver the demo data's events.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

RAPPORT = Path(sys.executable).with_name("rapport")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.skipif(not RAPPORT.exists(), reason="the rapport console script is not installed")
def test_serve_runs_web_and_embedded_worker(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("RAPPORT_", "DJANGO_"))
    }
    env.update(RAPPORT_VAR_DIR=str(tmp_path), RAPPORT_LANGUAGE="en")
    run = {"env": env, "capture_output": True, "text": True, "timeout": 300}
    assert subprocess.run([str(RAPPORT), "migrate", "-v", "0"], **run).returncode == 0  # noqa: S603
    demo = subprocess.run(  # noqa: S603
        [str(RAPPORT), "demo", "--size", "small", "--accounts", "10", "--contacts", "10"], **run
    )
    assert demo.returncode == 0, demo.stderr
    assert "sales_manager" in demo.stdout  # the logins table `make run` prints

    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [str(RAPPORT), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    database = tmp_path / "rapport.sqlite3"
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/readyz")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert status == 200, "the web server did not become ready"
        assert '"migrations": "ok"' in body
        status, page = _get(f"http://127.0.0.1:{port}/accounts/login/")
        assert status == 200 and 'name="login"' in page

        # The beat schedules the outbox relay every 10 s; the worker must drain it.
        deadline = time.monotonic() + 90
        pending = None
        while time.monotonic() < deadline:
            with sqlite3.connect(database) as connection:
                pending = connection.execute(
                    "SELECT COUNT(*) FROM core_outboxmessage WHERE delivered_at IS NULL"
                ).fetchone()[0]
            if pending == 0:
                break
            time.sleep(2)
        assert pending == 0, f"{pending} outbox messages were not delivered by the embedded worker"
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
