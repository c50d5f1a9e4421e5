"""Run the local Dataverse with uvicorn over HTTPS: in a background thread (tests, the demo) or in
the foreground (the CLI)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from .app import create_app
from .service import Dataverse, ServerConfig

STARTUP_TIMEOUT_SECONDS = 20.0


class ServerStartError(Exception):
    """The server did not come up."""


@dataclass
class RunningServer:
    url: str
    authority: str
    ca_file: str
    dataverse: Dataverse
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def reset(self) -> None:
        """Empty storage and re-seed (for function-scoped fixtures)."""
        self.dataverse.reset()

    def dump_lines(self) -> list[str]:
        return self.dataverse.dump_lines()

    def counts(self) -> dict[str, int]:
        return self.dataverse.counts()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.dataverse.close()


def bind_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def build_uvicorn(dataverse: Dataverse, config: ServerConfig) -> uvicorn.Server:
    uvicorn_config = uvicorn.Config(
        create_app(dataverse),
        ssl_certfile=str(dataverse.tls.cert_file),
        ssl_keyfile=str(dataverse.tls.key_file),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(uvicorn_config)


def org_url(host: str, port: int) -> str:
    return f"https://{host}:{port}"


def start_background(config: ServerConfig) -> RunningServer:
    """Start the server in a thread; `config.port = 0` picks a free port."""
    dataverse = Dataverse(config)
    sock = bind_socket(config.host, config.port)
    port = sock.getsockname()[1]
    url = org_url(config.host, port)
    dataverse.set_org_url(url)
    server = build_uvicorn(dataverse, config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"dataverse-{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            dataverse.close()
            raise ServerStartError(f"the local Dataverse did not start on {url}")
        time.sleep(0.02)
    return RunningServer(
        url=url,
        authority=f"{url}/{config.tenant}",
        ca_file=str(dataverse.tls.ca_file),
        dataverse=dataverse,
        _server=server,
        _thread=thread,
    )


def serve_forever(config: ServerConfig) -> None:
    """Run in the foreground until interrupted (Ctrl-C)."""
    dataverse = Dataverse(config)
    sock = bind_socket(config.host, config.port)
    port = sock.getsockname()[1]
    dataverse.set_org_url(org_url(config.host, port))
    server = build_uvicorn(dataverse, config)
    try:
        server.run(sockets=[sock])
    finally:
        dataverse.close()
