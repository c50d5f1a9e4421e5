"""Run the CorePlus stand-in with uvicorn on loopback: in a thread (tests, the demo) or in the
foreground (the CLI). Plain HTTP: the stand-in holds no secrets worth a certificate."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from sandbox.coreplus.api import ApiConfig, CorePlusApi, create_app
from sandbox.coreplus.generator import Dataset

STARTUP_TIMEOUT_SECONDS = 20.0
API_PATH = "/API/Core/v2"


class ServerStartError(Exception):
    """The stand-in did not come up."""


@dataclass
class RunningCorePlus:
    url: str  # base URL of the API, e.g. http://127.0.0.1:8123/API/Core/v2
    api: CorePlusApi
    _server: uvicorn.Server
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def _uvicorn(api: CorePlusApi) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(api),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


def start_background(
    data: Dataset, config: ApiConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> RunningCorePlus:
    """Serve ``data`` from a thread; ``port=0`` picks a free port."""
    api = CorePlusApi(data, config)
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    server = _uvicorn(api)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"coreplus-{bound}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise ServerStartError(f"the CorePlus stand-in did not start on port {bound}")
        time.sleep(0.02)
    return RunningCorePlus(f"http://{host}:{bound}{API_PATH}", api, server, thread)


def serve_forever(
    data: Dataset, config: ApiConfig | None = None, *, host: str = "127.0.0.1", port: int = 8780
) -> None:
    api = CorePlusApi(data, config)
    sock = _bind(host, port)
    _uvicorn(api).run(sockets=[sock])
