"""Run the local Dataverse with uvicorn over HTTPS: in a background thread (tests, the demo) or in
the foreground (the CLI)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from .app import InjectedConnectionDrop, create_app
from .service import Dataverse, ServerConfig

STARTUP_TIMEOUT_SECONDS = 20.0
# how long a request in progress may run on after stop() before it is cancelled
GRACEFUL_SHUTDOWN_SECONDS = 5


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
        """Stop within a few tenths of a second: idle keep-alive connections are closed at once,
        a request in progress gets up to GRACEFUL_SHUTDOWN_SECONDS to finish."""
        self._server.should_exit = True
        self._thread.join(timeout=GRACEFUL_SHUTDOWN_SECONDS + 5)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=5)
        self.dataverse.close()


def bind_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, with a shutdown that does not wait on idle TLS connections.

    uvicorn closes idle keep-alive connections on shutdown, but over TLS `transport.close()` waits
    for the client's close_notify, which an idle pooled client never sends: the connection stays
    open until the graceful-shutdown timeout and uvicorn logs "Cancel 0 running task(s), timeout
    graceful shutdown exceeded". Connections whose close has been requested and whose responses
    are fully written are aborted instead (a client sees the same closed keep-alive connection).
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        closer = asyncio.ensure_future(self._abort_closing_connections())
        try:
            await super().shutdown(sockets)
        finally:
            closer.cancel()

    async def _abort_closing_connections(self) -> None:
        while True:
            for connection in list(self.server_state.connections):
                transport = getattr(connection, "transport", None)
                if (
                    transport is not None
                    and transport.is_closing()
                    and not transport.get_write_buffer_size()
                ):
                    transport.abort()
            await asyncio.sleep(0.02)


class _ConciseFaultLog(logging.Filter):
    """uvicorn logs an exception raised by the app with its traceback; the injected connection
    drop is expected, so it becomes one warning line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc_info = record.exc_info
        if exc_info and isinstance(exc_info[1], InjectedConnectionDrop):
            record.msg, record.args = "%s", (str(exc_info[1]),)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_CONCISE_FAULT_LOG = _ConciseFaultLog()


def build_uvicorn(dataverse: Dataverse, config: ServerConfig) -> uvicorn.Server:
    uvicorn_config = uvicorn.Config(
        create_app(dataverse),
        ssl_certfile=str(dataverse.tls.cert_file),
        ssl_keyfile=str(dataverse.tls.key_file),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    # after uvicorn.Config, which (re)configures uvicorn's loggers
    error_log = logging.getLogger("uvicorn.error")
    if _CONCISE_FAULT_LOG not in error_log.filters:
        error_log.addFilter(_CONCISE_FAULT_LOG)
    return _Server(uvicorn_config)


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
