"""moto's server application, served by waitress with keep-alive connections.

moto's own `ThreadedMotoServer` serves it with werkzeug's development server, which answers every request with
`Connection: close` (werkzeug 3.1 always does) and starts a thread for each connection: every AWS call of every
function worker and poller opened, and the runtime's one core accepted and closed, a TCP connection. waitress (a
production WSGI server, pure Python) keeps connections open and answers from a fixed pool of threads. The
application is moto's own (`DomainDispatcherApplication`), with the runtime's fixes, faults and metering.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

SERVER_THREADS = 16  # concurrent requests; the GIL runs one at a time, the rest only wait less for a thread


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: PLC0415
        from waitress.server import create_server  # noqa: PLC0415

        logging.getLogger("waitress").setLevel(logging.ERROR)  # "Task queue depth" warnings under load
        self._server: Any = create_server(
            DomainDispatcherApplication(create_backend_app),
            host=host,
            port=port,
            threads=SERVER_THREADS,
            connection_limit=1000,  # each function worker and poller keeps its connections (botocore pools 10)
            channel_timeout=300,  # an idle connection is closed after 5 minutes (botocore opens another)
            ident="moto",
        )
        self._thread = threading.Thread(target=self._server.run, name="moto-server", daemon=True)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self._server.effective_host}:{self._server.effective_port}"

    def start(self) -> MotoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close every socket from the server's own loop (closed from another thread, the loop's select() failed
        with EBADF): the loop ends when it has none left."""
        from waitress import wasyncore  # noqa: PLC0415

        def close_all() -> None:
            self._server.task_dispatcher.shutdown(timeout=1)
            wasyncore.close_all(self._server._map)

        if self._thread.is_alive():
            self._server.trigger.pull_trigger(close_all)
            self._thread.join(timeout=3)
