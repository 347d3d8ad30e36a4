"""A recording SMTP receiver for the traffic-shaping tests: it stands in for
a remote site's MX host on 127.0.0.x:25 and notes, by time.monotonic(),
when each connection opened and closed and when each message arrived (its
envelope and size), so that a test can check what petreld did to that
site from the site's side: connections at once, messages per second, no
connection while suspended, few attempts while down.

    with Recorder("127.0.0.10") as mx:                       # accept: 250 to everything
        ... petreld delivers to a domain whose MX is 127.0.0.10 ...
        mx.wait_for_messages(60, timeout=20)
        assert mx.max_concurrency() <= 2
        assert mx.max_messages_in_window(1.0) <= 11

    Recorder("127.0.0.14", mode="tarpit")   # accepts TCP, never greets, holds on until stop()
    Recorder("127.0.0.15", mode="refuse")   # listens nowhere: connect() is refused (see SynCounter)
    Recorder("127.0.0.16", mode="reset")    # accepts, then a TCP RST at once, before any greeting
    Recorder("127.0.0.13", reply="421 4.7.0 [TSS04] Messages from 127.0.0.1 temporarily deferred",
             reply_at="MAIL", reply_first=1)  # that reply to the first transaction, then accept

A reply with code 421 closes the connection after it (RFC 5321 §3.8), like
the servers that send it. reply_first=N: only the first N transactions
(MAIL commands, over all connections) get it; reply_for=S: only those in
the S seconds after the first one that got it; neither: every one. Both:
whichever ends first. reply_at="CONNECT" sends it instead of the greeting
and closes (reply_first then counts connections).

One asyncio event loop in one background thread serves every Recorder of
the process; it starts with the first and ends with the last. stop() closes
the listening socket and every connection (the peer sees EOF) within a
second. Records are copied out under a lock, so they may be read while
mail flows.

A connection's end is the moment the sender said QUIT (or the connection
closed, whichever is first): a client may open its next connection as
soon as it has sent QUIT, before this side has read it.
"""
import asyncio
import itertools
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass, field

CRLF = b"\r\n"


# --------------------------------------------------------------------------
# records

@dataclass
class Message:
    time: float                 # monotonic: the end of DATA (the final ".") was read
    mail_time: float            # monotonic: MAIL FROM was read
    mail_from: str
    rcpt_tos: list
    size: int                   # octets of content, as sent (dot-stuffed, CRLF included)
    connection: int             # Connection.id


@dataclass
class Refusal:
    time: float                 # monotonic: when the reply was sent
    verb: str                   # "MAIL", "RCPT", "DATA"
    reply: str
    connection: int


@dataclass
class Connection:
    id: int
    peer: tuple
    opened: float               # monotonic
    closed: float = None        # monotonic: QUIT read, EOF, reset, or our own close; None while open
    how: str = ""               # "quit", "eof", "reset", "421", "stopped", "rst-sent", "error: ..."
    greeted: bool = False       # we sent a 220
    helo: str = ""
    transactions: int = 0       # MAIL commands
    messages: int = 0           # messages accepted
    commands: list = field(default_factory=list)   # verbs, in order (bounded)

    def end(self, default=None):
        """The end time, or default while open."""
        return self.closed if self.closed is not None else default


# --------------------------------------------------------------------------
# figures computed from records (module-level so that tests may combine
# the records of several receivers)

def max_concurrency(connections, slack=0.0, now=None):
    """The most connections open at one moment. A connection still open
    counts until `now` (default: the present). A connection's end is when
    its QUIT (or EOF) was read, and a new connection is noted only after
    the loop has had its turns to read what came before it, so a client
    that sends QUIT and then connects again is never seen with both open.
    slack > 0: overlaps shorter than that many seconds do not count (only
    for a sender known to reconnect before it says QUIT)."""
    now = time.monotonic() if now is None else now
    events = []
    for c in connections:
        start, end = c.opened, c.end(now)
        end = max(start + 1e-6, end - slack)     # a short connection still counts while it is open
        events.append((start, 1))
        events.append((end, -1))
    events.sort(key=lambda e: (e[0], e[1]))   # at a tie, an end comes before a start
    best = active = 0
    for _, delta in events:
        active += delta
        best = max(best, active)
    return best


def max_in_window(times, window=1.0):
    """The most events in any half-open interval [t, t + window)."""
    ts = sorted(times)
    best = 0
    j = 0
    for i, t in enumerate(ts):
        if j < i:
            j = i
        while j < len(ts) and ts[j] < t + window:
            j += 1
        best = max(best, j - i)
    return best


def opened_between(connections, start, end):
    """Connections opened in [start, end)."""
    return [c for c in connections if start <= c.opened < end]


# --------------------------------------------------------------------------
# the event loop shared by every Recorder of the process

class _SharedLoop:
    lock = threading.Lock()
    loop = None
    thread = None
    users = 0

    @classmethod
    def acquire(cls):
        with cls.lock:
            if cls.loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run():
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                thread = threading.Thread(target=run, name="recorder-loop", daemon=True)
                thread.start()
                if not ready.wait(5):
                    raise RuntimeError("the recorder's event loop did not start")
                cls.loop, cls.thread = loop, thread
            cls.users += 1
            return cls.loop

    @classmethod
    def release(cls):
        with cls.lock:
            cls.users -= 1
            if cls.users > 0 or cls.loop is None:
                return
            loop, thread = cls.loop, cls.thread
            cls.loop = cls.thread = None
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        if not thread.is_alive():
            loop.close()


# --------------------------------------------------------------------------
# the receiver

class Recorder:
    MODES = ("accept", "tarpit", "refuse", "reset", "reply")

    def __init__(self, host, port=25, mode=None, name=None, reply=None, reply_at="MAIL", reply_first=None,
                 reply_for=None, max_commands_kept=200):
        if mode is None:
            mode = "reply" if reply else "accept"
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}, not {mode!r}")
        if mode == "reply" and not reply:
            raise ValueError("mode 'reply' needs reply='NNN text'")
        if reply_at not in ("CONNECT", "EHLO", "MAIL", "RCPT", "DATA"):
            raise ValueError("reply_at: CONNECT (instead of the greeting), EHLO, MAIL, RCPT "
                             "or DATA (after the content)")
        self.host = host
        self.port = port
        self.mode = mode
        self.name = name or f"mx-{host}.recorder.test"
        self.reply = reply
        self.reply_at = reply_at
        self.reply_first = reply_first
        self.reply_for = reply_for
        self.max_commands_kept = max_commands_kept

        self.started_at = None
        self._lock = threading.Lock()
        self._connections = []
        self._messages = []
        self._refusals = []
        self._ids = itertools.count(1)
        self._transactions = 0           # MAIL commands over all connections
        self._events = 0                 # connections (or EHLOs) that reached reply_at CONNECT/EHLO
        self._first_reply_at = None      # when the scripted reply was first given
        self._loop = None
        self._server = None
        self._tasks = set()
        self._writers = set()

    # -- life ------------------------------------------------------------
    def start(self, timeout=5.0):
        self.started_at = time.monotonic()
        if self.mode == "refuse":
            return self              # nothing listens: connect() gets ECONNREFUSED
        self._loop = _SharedLoop.acquire()
        try:
            asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout)
        except BaseException:
            self._loop = None
            _SharedLoop.release()
            raise
        return self

    def stop(self, timeout=5.0):
        """Stops listening and closes every connection; idempotent."""
        if self._loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout)
        finally:
            self._loop = None
            _SharedLoop.release()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def set_mode(self, mode, **script):
        """Changes the behaviour for connections and transactions from now on
        (e.g. a tarpit that starts to accept); reply=, reply_at=, reply_first=,
        reply_for= as for the constructor. A refusing receiver cannot start
        listening this way: make a new Recorder."""
        if mode not in self.MODES or mode == "refuse" or (self.mode == "refuse"):
            raise ValueError(f"cannot switch from {self.mode!r} to {mode!r}")
        with self._lock:
            self.mode = mode
            for key in ("reply", "reply_at", "reply_first", "reply_for"):
                if key in script:
                    setattr(self, key, script[key])
            self._transactions = 0
            self._events = 0
            self._first_reply_at = None

    # -- records ---------------------------------------------------------
    @property
    def connections(self):
        with self._lock:
            return [Connection(**{**c.__dict__, "commands": list(c.commands)}) for c in self._connections]

    @property
    def messages(self):
        with self._lock:
            return list(self._messages)

    @property
    def refusals(self):
        with self._lock:
            return list(self._refusals)

    def connection_count(self):
        with self._lock:
            return len(self._connections)

    def message_count(self):
        with self._lock:
            return len(self._messages)

    def recipients(self):
        """Every recipient accepted, in order of arrival (one entry per message and recipient)."""
        return [r for m in self.messages for r in m.rcpt_tos]

    def max_concurrency(self, slack=0.0):
        return max_concurrency(self.connections, slack)

    def max_messages_in_window(self, window=1.0):
        return max_in_window([m.time for m in self.messages], window)

    def first_message_time(self):
        ms = self.messages
        return min(m.time for m in ms) if ms else None

    def last_message_time(self):
        ms = self.messages
        return max(m.time for m in ms) if ms else None

    def wait_for_messages(self, count, timeout):
        """True once at least count messages have arrived; False after timeout."""
        deadline = time.monotonic() + timeout
        while self.message_count() < count:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def wait_for_connections(self, count, timeout):
        deadline = time.monotonic() + timeout
        while self.connection_count() < count:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def summary(self, limit=40):
        """The records in words, relative to start(): for assertion messages."""
        t0 = self.started_at or 0.0
        lines = [f"recorder {self.host}:{self.port} mode={self.mode}: {self.connection_count()} connections, "
                 f"{self.message_count()} messages, {len(self.refusals)} refusals"]
        for c in self.connections[:limit]:
            end = f"{c.closed - t0:7.3f}" if c.closed is not None else "   open"
            lines.append(f"  conn {c.id:3d} {c.opened - t0:7.3f} .. {end} ({c.how or 'open'}) "
                         f"messages={c.messages} commands={' '.join(c.commands[:12])}")
        for m in self.messages[:limit]:
            lines.append(f"  msg  conn {m.connection:3d} at {m.time - t0:7.3f} from=<{m.mail_from}> "
                         f"to={','.join(m.rcpt_tos)} size={m.size}")
        for r in self.refusals[:limit]:
            lines.append(f"  refused {r.verb} conn {r.connection} at {r.time - t0:7.3f}: {r.reply}")
        return "\n".join(lines)

    # -- the scripted reply ----------------------------------------------
    def _scripted(self, verb):
        """The scripted reply if this command (`verb`) gets it now, else None.
        Called on the loop thread; MAIL counts transactions before this."""
        with self._lock:
            if self.mode != "reply" or verb != self.reply_at:
                return None
            now = time.monotonic()
            if verb in ("CONNECT", "EHLO"):      # counted by connection, not by transaction
                self._events += 1
                number = self._events
            else:
                number = self._transactions
            if self.reply_first is not None and number > self.reply_first:
                return None
            if self.reply_for is not None and self._first_reply_at is not None \
                    and now - self._first_reply_at >= self.reply_for:
                return None
            if self._first_reply_at is None:
                self._first_reply_at = now
            return self.reply

    # -- the server (loop thread) ----------------------------------------
    async def _listen(self):
        self._server = await asyncio.start_server(self._handle, self.host, self.port, reuse_address=True,
                                                  limit=1 << 20, backlog=128)

    async def _shutdown(self):
        if self._server is not None:
            self._server.close()
        for w in list(self._writers):
            w.transport.abort()
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2)
        if self._server is not None:
            try:
                await asyncio.wait_for(self._server.wait_closed(), 2)
            except asyncio.TimeoutError:
                pass
            self._server = None
        now = time.monotonic()
        with self._lock:
            for c in self._connections:
                if c.closed is None:
                    c.closed, c.how = now, "stopped"

    async def _handle(self, reader, writer):
        task = asyncio.current_task()
        self._tasks.add(task)
        self._writers.add(writer)
        # Let this loop iteration's other events (a QUIT that came just
        # before this connect) be handled first: see max_concurrency().
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        conn = Connection(id=next(self._ids), peer=writer.get_extra_info("peername"), opened=time.monotonic())
        with self._lock:
            self._connections.append(conn)
        how = "error"
        try:
            how = await self._session(conn, reader, writer)
        except asyncio.CancelledError:
            how = "stopped"
        except (ConnectionResetError, BrokenPipeError):
            how = "reset"
        except Exception as e:          # a recorder bug: noted, never fatal to the loop
            how = f"error: {e!r}"
        finally:
            with self._lock:
                if conn.closed is None:
                    conn.closed = time.monotonic()
                if not conn.how:
                    conn.how = how
            writer.transport.abort() if how in ("stopped", "reset") else writer.close()
            self._writers.discard(writer)
            self._tasks.discard(task)

    def _note(self, conn, verb):
        with self._lock:
            if len(conn.commands) < self.max_commands_kept:
                conn.commands.append(verb)

    def _end(self, conn, how):
        with self._lock:
            if conn.closed is None:
                conn.closed, conn.how = time.monotonic(), how

    def _refused(self, conn, verb, reply):
        with self._lock:
            self._refusals.append(Refusal(time.monotonic(), verb, reply, conn.id))

    async def _session(self, conn, reader, writer):
        mode = self.mode
        if mode == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._end(conn, "rst-sent")
            writer.transport.abort()
            return "rst-sent"
        if mode == "tarpit":
            while await reader.read(65536):
                pass
            self._end(conn, "eof")
            return "eof"

        async def send(line):
            writer.write(line.encode() + CRLF)
            await writer.drain()

        async def scripted(verb):
            """Sends the scripted reply if this command gets it; returns
            None (carry on), "close" (421: closed), or "refused"."""
            text = self._scripted(verb)
            if text is None:
                return None
            self._refused(conn, verb, text)
            if text.startswith("421"):
                self._end(conn, "421")
                await send(text)
                return "close"
            await send(text)
            return "refused"

        if await scripted("CONNECT"):          # instead of the greeting; then the connection ends
            self._end(conn, "refused")
            return "refused"
        await send(f"220 {self.name} ESMTP recorder")
        conn.greeted = True
        mail_from, rcpts, mail_time = None, [], None
        while True:
            line = await reader.readline()
            if not line:
                self._end(conn, "eof")
                return "eof"
            text = line.rstrip(b"\r\n").decode("utf-8", "replace")
            verb = text.split(" ", 1)[0].upper()
            self._note(conn, verb)
            if verb == "QUIT":
                self._end(conn, "quit")
                await send("221 2.0.0 Bye")
                return "quit"
            if verb in ("EHLO", "HELO"):
                got = await scripted("EHLO")
                if got == "close":
                    return "421"
                if got:
                    continue
                conn.helo = text[5:].strip()
                mail_from, rcpts = None, []
                if verb == "EHLO":
                    writer.write(f"250-{self.name}\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                                 "250-ENHANCEDSTATUSCODES\r\n250 SIZE 52428800\r\n".encode())
                    await writer.drain()
                else:
                    await send(f"250 {self.name}")
            elif verb == "MAIL":
                with self._lock:
                    self._transactions += 1
                    conn.transactions += 1
                got = await scripted("MAIL")
                if got == "close":
                    return "421"
                if got:
                    continue
                mail_from, rcpts, mail_time = _address(text), [], time.monotonic()
                await send("250 2.1.0 Ok")
            elif verb == "RCPT":
                if mail_from is None:
                    await send("503 5.5.1 Error: need MAIL command")
                    continue
                got = await scripted("RCPT")
                if got == "close":
                    return "421"
                if got:
                    continue
                rcpts.append(_address(text))
                await send("250 2.1.5 Ok")
            elif verb == "DATA":
                if mail_from is None or not rcpts:
                    await send("554 5.5.1 Error: no valid recipients" if mail_from is not None
                               else "503 5.5.1 Error: need MAIL command")
                    continue
                await send("354 End data with <CR><LF>.<CR><LF>")
                size = 0
                while True:
                    chunk = await reader.readline()
                    if not chunk:
                        self._end(conn, "eof")
                        return "eof"
                    if chunk in (b".\r\n", b".\n"):
                        break
                    size += len(chunk)
                got = await scripted("DATA")
                if got == "close":
                    return "421"
                if not got:
                    with self._lock:
                        self._messages.append(Message(time.monotonic(), mail_time, mail_from, list(rcpts), size,
                                                      conn.id))
                        conn.messages += 1
                    await send(f"250 2.0.0 Ok: queued as R{conn.id}M{conn.messages}")
                mail_from, rcpts = None, []
            elif verb == "RSET":
                mail_from, rcpts = None, []
                await send("250 2.0.0 Ok")
            elif verb == "NOOP":
                await send("250 2.0.0 Ok")
            else:
                await send("502 5.5.2 Error: command not recognized")


def _address(command):
    """The address of "MAIL FROM:<a@b> SIZE=1" / "RCPT TO:<a@b> NOTIFY=..."."""
    rest = command.split(":", 1)[1] if ":" in command else ""
    rest = rest.strip()
    if rest.startswith("<"):
        return rest[1:rest.find(">")] if ">" in rest else rest[1:]
    return rest.split(" ", 1)[0]


# --------------------------------------------------------------------------
# connection attempts where nothing listens

class SynCounter:
    """Counts TCP connection attempts (SYNs) to HOST:PORT in an nftables
    table of its own, so that attempts at a refusing site (nothing
    listens: the kernel answers RST, no receiver sees anything) can be
    counted. Needs root and nft; `available` is False otherwise (count()
    then returns None). The table is deleted by stop().

        with SynCounter("127.0.0.15") as syns:
            ...
            assert syns.count() <= 5
    """

    def __init__(self, host, port=25):
        self.host, self.port = host, port
        self.table = f"petrel_syn_{host.replace('.', '_')}_{port}_{id(self) & 0xffffff:x}"
        self.available = False
        self.error = ""

    def _nft(self, *args):
        return subprocess.run(["nft", *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10)

    def start(self):
        try:
            steps = [
                ("add", "table", "inet", self.table),
                ("add", "chain", "inet", self.table, "out",
                 "{ type filter hook output priority 0; policy accept; }"),
                ("add", "rule", "inet", self.table, "out", "ip", "daddr", self.host, "tcp", "dport", str(self.port),
                 "tcp", "flags", "&", "(syn|ack)", "==", "syn", "counter"),
            ]
            for step in steps:
                r = self._nft(*step)
                if r.returncode != 0:
                    self.error = r.stderr.strip()
                    self.stop()
                    return self
            self.available = True
        except (OSError, subprocess.SubprocessError) as e:
            self.error = str(e)
        return self

    def count(self):
        if not self.available:
            return None
        r = self._nft("list", "table", "inet", self.table)
        import re
        m = re.search(r"counter packets (\d+)", r.stdout)
        return int(m.group(1)) if m else None

    def stop(self):
        try:
            self._nft("delete", "table", "inet", self.table)
        except (OSError, subprocess.SubprocessError):
            pass
        self.available = False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
