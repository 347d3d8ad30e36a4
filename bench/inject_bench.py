"""I1-inject: bulk mail through the front door each server offers, DKIM-signed,
relayed to a counting smtp-sink (docs/performance.md, "Injection").

  petrel:  POST /api/v1/messages, batches of 500 recipients, 4 client
           connections; a ~20 KiB text + HTML template with three variables
           per recipient; [[dkim]] rsa-2048; durable before each 200.
  postfix: Postfix with OpenDKIM as a milter (rsa-2048, relaxed/relaxed),
           fed ~20 KiB messages by smtp-source (20 sessions), relaying to the
           same kind of sink: what a user would pick instead.

Measured: accept time (all API replies / smtp-source's wall time), end to
end (until the sink has every message), CPU seconds of the server's
process tree (OpenDKIM's included for Postfix) per message, peak RSS.
Called by bench.py; `b` is bench.py's module (its helpers and classes)."""
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time

SENDER_DOMAIN = "news.bench"
SELECTOR = "b1"
BATCH = 500
CLIENTS = 4

WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore "
         "et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco laboris").split()


def filler(n_bytes, seed):
    rnd = random.Random(seed)
    out, size = [], 0
    while size < n_bytes:
        line = " ".join(rnd.choice(WORDS) for _ in range(12))
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


def template_body():
    """About 20 KiB once rendered: 10 KiB of text, 10 KiB of HTML, three
    variables used in both."""
    text = "Hello {{first}},\n\nYour code is {{code}} and your city {{city}}.\n\n" + filler(10000, 1)
    html = ("<html><body><p>Hello <b>{{first}}</b>,</p><p>Your code is {{code}} in {{city}}.</p><p>" +
            filler(9800, 2).replace("\n", "</p>\n<p>") + "</p></body></html>")
    return {"envelope_sender": f"bounces@{SENDER_DOMAIN}",
            "from": {"email": f"news@{SENDER_DOMAIN}", "name": "Bench News"},
            "subject": "Your code, {{first}}", "text": text, "html": html,
            "campaign": "bench", "unsubscribe": True}


def recipients(b, start, count):
    return [{"email": f"u{i}@{b.RELAY_DOMAIN}", "name": f"User {i}",
             "vars": {"first": f"User{i}", "code": f"C{i:07d}", "city": ("Oslo", "Lyon", "Porto")[i % 3]}}
            for i in range(start, start + count)]


def make_key(b, d, petreld):
    petrel = os.path.join(os.path.dirname(petreld), "petrel")
    r = subprocess.run([petrel, "dkim", "keygen", "--domain", SENDER_DOMAIN, "--selector", SELECTOR,
                        "--algorithm", "rsa", "--bits", "2048", "--out", d], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("petrel dkim keygen: " + r.stderr)
    return os.path.join(d, f"{SELECTOR}.{SENDER_DOMAIN}.key")


class PetrelApi:
    """petreld with [http], [[dkim]] and the relay route; the API client."""

    def __init__(self, b, d, args, relay, key):
        self.b, self.d, self.args = b, d, args
        self.http_port = b.free_port()
        self.token = "bench-token-" + os.urandom(12).hex()
        tokens = os.path.join(d, "api_tokens")
        with open(tokens, "w") as f:
            f.write(f"bench:{self.token}\n")
        os.chmod(tokens, 0o600)
        conf = os.path.join(d, "petreld.toml")
        with open(conf, "w") as f:
            f.write(f'[http]\nlisten = "{b.HOST}:{self.http_port}"\napi_tokens_file = "{tokens}"\n'
                    f'public_url = "https://petrel.bench.local"\n\n'
                    f'[[dkim]]\ndomain = "{SENDER_DOMAIN}"\nselector = "{SELECTOR}"\nkey_file = "{key}"\n')
        self.srv = b.Petrel(d, args, relay=relay)
        self.srv.argv += ["--config", conf]
        self.srv.note = ("POST /api/v1/messages, 500 recipients per request over 4 keep-alive connections; "
                         "[[dkim]] rsa-2048; relayed by its queue to the sink (delivery defaults)")

    def post(self, conn, body):
        data = json.dumps(body).encode()
        for attempt in range(50):
            conn.request("POST", "/api/v1/messages", body=data,
                         headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
            r = conn.getresponse()
            raw = r.read()
            if r.status == 200:
                return json.loads(raw)["accepted"]
            if r.status in (429, 503):
                time.sleep(float(r.getheader("Retry-After", "1")))
                continue
            raise RuntimeError(f"API {r.status}: {raw[:300]!r}")
        raise RuntimeError("API kept refusing")

    def inject(self, n, timeout):
        """Posts n recipients; returns (accepted, seconds, problem)."""
        template = template_body()
        batches = list(range(0, n, BATCH))
        lock = threading.Lock()
        done = {"accepted": 0, "problem": None}

        def worker():
            conn = http.client.HTTPConnection(self.b.HOST, self.http_port, timeout=timeout)
            while True:
                with lock:
                    if not batches or done["problem"]:
                        break
                    start = batches.pop(0)
                body = dict(template, recipients=recipients(self.b, start, min(BATCH, n - start)),
                            idempotency_key=f"bench-{start}")
                try:
                    got = self.post(conn, body)
                except Exception as e:  # noqa: BLE001
                    with lock:
                        done["problem"] = str(e)
                    break
                with lock:
                    done["accepted"] += got
            conn.close()

        t0 = time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return done["accepted"], time.monotonic() - t0, done["problem"]


class PostfixDkim:
    """Postfix relaying through OpenDKIM (milter, signing) to the sink."""

    def __init__(self, b, d, args, relay, key):
        self.b, self.d = b, d
        self.milter_port = b.free_port()
        keys = os.path.join(d, "opendkim")
        os.makedirs(keys, exist_ok=True)
        shutil.copy(key, os.path.join(keys, "b1.key"))
        shutil.chown(keys, "opendkim", "opendkim")
        shutil.chown(os.path.join(keys, "b1.key"), "opendkim", "opendkim")
        os.chmod(os.path.join(keys, "b1.key"), 0o600)
        self.conf = os.path.join(keys, "opendkim.conf")
        with open(self.conf, "w") as f:
            f.write(f"Mode s\nDomain {SENDER_DOMAIN}\nSelector {SELECTOR}\nKeyFile {keys}/b1.key\n"
                    f"Socket inet:{self.milter_port}@{b.HOST}\nCanonicalization relaxed/relaxed\n"
                    "SignatureAlgorithm rsa-sha256\nInternalHosts 127.0.0.0/8\nSyslog no\nUserID opendkim\n"
                    f"PidFile {keys}/opendkim.pid\nOversignHeaders From\n"
                    # the scratch dir is under /tmp, which OpenDKIM takes for unsafe
                    "RequireSafeKeys false\n")
        self.milter = None
        self.srv = b.Postfix(d, args, relay=relay)
        main_cf = os.path.join(d, "conf", "main.cf")
        with open(main_cf, "a") as f:
            f.write(f"smtpd_milters = inet:{b.HOST}:{self.milter_port}\nnon_smtpd_milters = $smtpd_milters\n"
                    "milter_default_action = tempfail\nmilter_protocol = 6\n")
        self.srv.note = ("smtp-source -s 20 with ~20 KiB messages from news@news.bench; OpenDKIM (Debian) as "
                         "smtpd_milters, Mode s, rsa-2048, relaxed/relaxed, milter_default_action = tempfail; "
                         "relaying as in R (default queue, fsync, concurrency)")

    def start_milter(self):
        self.milter = subprocess.Popen(["opendkim", "-f", "-x", self.conf], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.d, "opendkim.log"), "ab"),
                                       start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                import socket
                with socket.create_connection((self.b.HOST, self.milter_port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("opendkim did not listen")

    def cpu_s(self):
        return self.b.tree_cpu_s(self.milter.pid) if self.milter else 0.0

    def stop_milter(self):
        if self.milter and self.milter.poll() is None:
            self.milter.terminate()
            try:
                self.milter.wait(10)
            except subprocess.TimeoutExpired:
                self.milter.kill()


def measure_inject(kind, scenario, args, scratch, b):
    n = args.inject or (10000 if args.quick else 100000)
    d = tempfile.mkdtemp(prefix=f"{kind}-{scenario}.", dir=scratch)
    os.chmod(d, 0o755)
    img = b.mount_fresh_fs(d, args.fs_gib) if args.loop_fs else None
    res = {"server": kind, "scenario": scenario, "n": n, "sessions": CLIENTS if kind == "petrel" else 20,
           "size": 20 * 1024}
    relay = b.RelaySink(d)
    side = None
    try:
        key = make_key(b, d, args.petreld)
        side = (PetrelApi if kind == "petrel" else PostfixDkim)(b, d, args, (b.RELAY_HOST, relay.port), key)
        srv = side.srv
        res["note"] = srv.note
        if kind == "postfix":
            side.start_milter()
        srv.start()
        if kind == "petrel" and not b.wait_for(lambda: port_open(b.HOST, side.http_port), 10):
            raise RuntimeError("the HTTP listener did not open")
        mem = b.MemorySampler(srv.proc.pid)
        mem.start()
        milter_mem = b.MemorySampler(side.milter.pid) if kind == "postfix" else None
        if milter_mem:
            milter_mem.start()
        cpu0 = b.tree_cpu_s(srv.proc.pid) + (side.cpu_s() if kind == "postfix" else 0)
        base = relay.counters()[1]
        t0 = time.monotonic()
        if kind == "petrel":
            accepted, t_acc, problem = side.inject(n, args.max_seconds)
        else:
            accepted, t_acc, problem = b.smtp_source(srv.port, 20, 20 * 1024, n, args.max_seconds, b.RELAY_RCPT, 1,
                                                     sender=f"news@{SENDER_DOMAIN}")
        res.update(accepted=accepted, accept_s=t_acc, accept_rate=accepted / t_acc if t_acc else 0, problem=problem)
        ok = b.wait_for(lambda: relay.counters()[1] - base >= accepted, args.max_drain + args.max_seconds)
        t_end = time.monotonic()
        res["delivered"] = relay.counters()[1] - base
        if ok and accepted:
            res["e2e_s"] = t_end - t0
            res["e2e_rate"] = accepted / res["e2e_s"]
        cpu = b.tree_cpu_s(srv.proc.pid) + (side.cpu_s() if kind == "postfix" else 0) - cpu0
        res["cpu_ms"] = 1000.0 * cpu / max(1, accepted)
        res["cpu_util"] = cpu / max(1e-9, t_end - t0)
        res["peak_mib"] = mem.finish() + (milter_mem.finish() if milter_mem else 0)
        res["sink_cpu_ms"] = 1000.0 * relay.cpu_s() / max(1, accepted)
    except Exception as e:  # noqa: BLE001
        res["problem"] = f"{type(e).__name__}: {e}"
    finally:
        if side is not None:
            res["log_tail"] = side.srv.log_tail(600) if side.srv.proc else ""
            if side.srv.proc:
                side.srv.stop()
            if kind == "postfix":
                side.stop_milter()
        relay.stop()
        if img:
            b.unmount_fs(d, img)
    return res


def port_open(host, port):
    import socket
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
