"""Network trouble on loopback, for the tests of dead connections.

`Relay` forwards a port to a real server (Dovecot); `Relay.freeze` makes
every connection open at that moment go silent in both directions without
closing it, as a NAT box or firewall that forgot the connection does.
Connections made afterwards work.  `silent_listener` accepts connections
and never says a word (a server that hangs before its greeting).
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from dataclasses import dataclass, field

from tests.servers import free_port


@dataclass
class Relay:
    target_port: int
    port: int = field(default_factory=free_port)
    connections: int = 0
    _frozen: set[int] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _listener: socket.socket | None = None

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        """Silence every connection open now; new ones are not affected."""
        self._frozen.update(range(1, self.connections + 1))

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            server = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(
                target=self._pump, args=(self.connections, client, server), daemon=True
            ).start()

    def _pump(self, number: int, client: socket.socket, server: socket.socket) -> None:
        peers = {client: server, server: client}
        try:
            while not self._stop.is_set():
                readable, _, _ = select.select(list(peers), [], [], 0.2)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if number not in self._frozen:  # frozen: swallowed, never answered
                        peers[sock].sendall(data)
        except OSError:
            return
        finally:
            for sock in peers:
                with contextlib.suppress(OSError):
                    sock.close()


def start_relay(target_port: int) -> Relay:
    relay = Relay(target_port)
    relay.start()
    return relay


def silent_listener() -> socket.socket:
    """A listening socket nobody ever accepts on: connections open, nothing is said."""
    return socket.create_server(("127.0.0.1", free_port()), backlog=16)
