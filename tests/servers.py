"""Real `matchgraph serve` processes on loopback for the tests that need one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from .conftest import PROJECT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(
    state: Path, env: Mapping[str, str] | None = None, cwd: Path = PROJECT, wait_s: float = 300,
    args: tuple[str, ...] = (),
) -> Server:
    """``matchgraph serve`` on a free port with its state in ``state``; waits for /healthz."""
    port = free_port()
    full_env = {**os.environ, "MATCHGRAPH_DATA_DIR": str(state), "MATCHGRAPH_PORT": str(port),
                **(env or {})}
    state.mkdir(parents=True, exist_ok=True)
    log = state.parent / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "matchgraph.api.cli.main", "serve", *args],
                                cwd=cwd, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.base}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    server.stop()
    raise AssertionError(f"the server did not start in {wait_s:.0f} s:\n{log.read_text()[-3000:]}")


@contextmanager
def running_server(state: Path, env: Mapping[str, str] | None = None, **kwargs: object) -> Iterator[Server]:
    server = start_server(state, env, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()
