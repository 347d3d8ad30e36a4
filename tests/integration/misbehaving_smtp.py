"""A scripted SMTP server on a loopback socket that misbehaves on purpose, for
`petrel probe`'s tests: no EHLO, a slow or missing greeting, 421 at the
greeting, an open relay, VRFY that tells users apart, TURN accepted, SIZE
advertised but not enforced, replies lost when commands are pipelined, a
connection reset (TCP RST) at accept or in answer to a given command.

    with MisbehavingSmtp(greeting_delay=0.5, accept_turn=True) as server:
        ... petrel probe 127.0.0.1:{server.port} ...

One thread accepts, one thread per connection; every socket operation has
a timeout, so a test that fails never hangs on it.
"""
import socket
import struct
import threading
import time

HOST = "127.0.0.1"


class MisbehavingSmtp:
    def __init__(self, host=HOST, port=0, name="mx.misbehaving.test", greeting="220 {name} ESMTP test server",
                 greeting_delay=0.0, silent=False, ehlo=True, vrfy_users=None, accept_turn=False,
                 open_relay=False, size=None, enforce_size=True, pipelining=False, drop_pipelined=False,
                 starttls=False, reset_at_accept=False, reset_on=None):
        self.host = host
        self.name = name
        self.greeting = greeting.format(name=name)
        self.greeting_delay = greeting_delay
        self.silent = silent                  # accepts and never says a word
        self.ehlo = ehlo                      # False: EHLO gets 502, only HELO works
        self.vrfy_users = vrfy_users          # None: 252 to all; a set: 250 to those, 550 to others
        self.accept_turn = accept_turn
        self.open_relay = open_relay          # RCPT to any domain gets 250
        self.size = size                      # advertised SIZE limit, or None
        self.enforce_size = enforce_size
        self.pipelining = pipelining
        self.drop_pipelined = drop_pipelined  # answers only the first command of a batch
        self.starttls = starttls              # advertised, then refused with 454
        self.reset_at_accept = reset_at_accept  # RST right after accept, before any greeting
        self.reset_on = reset_on              # a verb ("EHLO") answered with a RST instead of a reply
        self.commands = []                    # every command line received, for assertions
        self._stop = threading.Event()
        self._threads = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, port))
        self._listener.listen(8)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]

    def __enter__(self):
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self._listener.close()

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    @staticmethod
    def _reset(conn):
        """Close with SO_LINGER {on, 0}: the kernel sends a RST, not a FIN."""
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    def _serve(self, conn):
        conn.settimeout(0.2)
        with conn:
            if self.reset_at_accept:
                self._reset(conn)
                return
            if self.silent:
                self._wait(lambda: False, 30)
                return
            if self.greeting_delay:
                self._wait(lambda: False, self.greeting_delay)
            conn.sendall((self.greeting + "\r\n").encode())
            if self.greeting.startswith("421") or self.greeting.startswith("554"):
                self._wait(lambda: False, 0.2)
                return
            buffer = b""
            deadline = time.monotonic() + 30
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    data = conn.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                lines = buffer.split(b"\r\n")
                buffer = lines.pop()
                for i, line in enumerate(lines):
                    if self.drop_pipelined and i > 0:
                        continue
                    if self.reset_on and line.decode(errors="replace").upper().startswith(self.reset_on):
                        self.commands.append(line.decode(errors="replace"))
                        self._reset(conn)
                        return
                    reply = self._answer(line.decode(errors="replace"))
                    conn.sendall(reply.encode())
                    if reply.startswith("221"):
                        return

    def _wait(self, predicate, seconds):
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < deadline and not predicate():
            time.sleep(0.02)

    def _ehlo_reply(self):
        lines = [self.name]
        if self.size is not None:
            lines.append(f"SIZE {self.size}")
        if self.pipelining:
            lines.append("PIPELINING")
        if self.starttls:
            lines.append("STARTTLS")
        lines.append("X-MADE-UP-EXTENSION 42")
        return "".join(f"250-{l}\r\n" for l in lines[:-1]) + f"250 {lines[-1]}\r\n"

    def _answer(self, line):
        self.commands.append(line)
        verb, _, arg = line.partition(" ")
        verb = verb.upper()
        if verb == "EHLO":
            return self._ehlo_reply() if self.ehlo else "502 5.5.2 EHLO not implemented\r\n"
        if verb == "HELO":
            return f"250 {self.name}\r\n"
        if verb == "HELP":
            return "214-Commands:\r\n214 HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY TURN\r\n"
        if verb in ("VRFY", "EXPN"):
            if self.vrfy_users is None:
                return "252 2.5.0 Cannot VRFY user\r\n"
            return "250 2.1.5 <%s@%s>\r\n" % (arg, self.name) if arg in self.vrfy_users else "550 5.1.1 No such user\r\n"
        if verb == "TURN":
            return "250 OK, turning around\r\n" if self.accept_turn else "502 5.5.1 TURN not implemented\r\n"
        if verb == "MAIL":
            if self.size is not None and self.enforce_size and "SIZE=" in arg.upper():
                if int(arg.upper().split("SIZE=")[1].split()[0]) > self.size:
                    return "552 5.3.4 Message size exceeds fixed limit\r\n"
            return "250 2.1.0 Ok\r\n"
        if verb == "RCPT":
            return "250 2.1.5 Ok\r\n" if self.open_relay else "554 5.7.1 Relay access denied\r\n"
        if verb in ("RSET", "NOOP"):
            return "250 2.0.0 Ok\r\n"
        if verb == "STARTTLS":
            return "454 4.7.0 TLS not available due to temporary reason\r\n"
        if verb == "QUIT":
            return "221 2.0.0 Bye\r\n"
        return "500 5.5.2 Unknown command\r\n"
