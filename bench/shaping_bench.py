"""S1-shaping: is a site's limit what the receiver sees? (docs/performance.md,
"Shaping accuracy").

The server relays relay.bench to a recording receiver (the tests' asyncio
Recorder, on 127.0.0.2) under the limit "2 connections, 50 messages/s":

  petrel:  [shaping.default] connection_limit = 2, max_message_rate = "50/s"
  postfix: default_destination_concurrency_limit = 2 only: Postfix has no
           message rate; its nearest, default_destination_rate_delay, is
           a pause of whole seconds between deliveries (at most 1/s, and
           concurrency 1), so 50/s cannot be said

4,000 messages are queued as fast as smtp-source sends them (80 s of
mail at the limit); the receiver time-stamps every message and connection.
Reported over the 60 s that start 5 s after the first message: messages/s
and its deviation from 50, the most messages in any 1 s window, and the
most connections open at once over the whole run.

Called by bench.py; `b` is bench.py's module."""
import os
import sys
import tempfile
import time

N = 4000
LIMIT_RATE = 50.0
LIMIT_CONNECTIONS = 2
WINDOW_START = 5.0
WINDOW = 60.0


def recorder_class(b):
    sys.path.insert(0, os.path.join(b.ROOT, "tests", "integration"))
    from recorder import Recorder  # noqa: E402 (the tests' receiver)
    return Recorder


def configure(kind, srv, d):
    if kind == "petrel":
        conf = os.path.join(d, "shaping.toml")
        with open(conf, "w") as f:
            f.write(f'[shaping.default]\nconnection_limit = {LIMIT_CONNECTIONS}\nmax_message_rate = "50/s"\n')
        srv.argv += ["--config", conf]
        srv.note = ('[shaping.default] connection_limit = 2, max_message_rate = "50/s" '
                    "(a GCRA throttle per site and source; a connection paces itself)")
    else:
        with open(os.path.join(d, "conf", "main.cf"), "a") as f:
            f.write("default_destination_concurrency_limit = 2\n")
        srv.note = ("default_destination_concurrency_limit = 2 (no message rate: rate_delay counts whole "
                    "seconds, so 50/s cannot be configured)")


def measure_shaping(kind, scenario, args, scratch, b):
    d = tempfile.mkdtemp(prefix=f"{kind}-{scenario}.", dir=scratch)
    os.chmod(d, 0o755)
    img = b.mount_fresh_fs(d, args.fs_gib) if args.loop_fs else None
    res = {"server": kind, "scenario": scenario, "n": N, "sessions": 20, "size": 1024}
    rec = recorder_class(b)(b.RELAY_HOST, port=b.free_port(b.RELAY_HOST)).start()
    srv = None
    try:
        srv = b.KINDS[kind](d, args, relay=(b.RELAY_HOST, rec.port))
        configure(kind, srv, d)
        res["note"] = srv.note
        srv.start()
        accepted, t_acc, problem = b.smtp_source(srv.port, 20, 1024, N, args.max_seconds, b.RELAY_RCPT, 1)
        res.update(accepted=accepted, accept_s=t_acc, accept_rate=accepted / t_acc if t_acc else 0, problem=problem)
        deadline = time.monotonic() + N / LIMIT_RATE * 2 + 60
        while rec.message_count() < accepted and time.monotonic() < deadline:
            time.sleep(0.2)
        times = sorted(m.time for m in rec.messages)
        res["delivered"] = len(times)
        if len(times) < accepted:
            res["problem"] = f"only {len(times)}/{accepted} at the receiver"
        if times:
            start = times[0] + WINDOW_START
            in_window = [t for t in times if start <= t < start + WINDOW]
            res["rate"] = len(in_window) / WINDOW
            res["rate_error_pct"] = 100.0 * (res["rate"] - LIMIT_RATE) / LIMIT_RATE
            res["max_1s"] = rec.max_messages_in_window(1.0)
            res["max_connections"] = rec.max_concurrency()
            res["connections"] = rec.connection_count()
            if times[-1] < start + WINDOW:
                res["problem"] = (res.get("problem") or "") + " (the load ended inside the window)"
    except Exception as e:  # noqa: BLE001
        res["problem"] = f"{type(e).__name__}: {e}"
    finally:
        if srv is not None and srv.proc:
            res["log_tail"] = srv.log_tail(600)
            srv.stop()
        rec.stop()
        if img:
            b.unmount_fs(d, img)
    return res


def report_lines(results):
    rows = [r for r in results if r["scenario"] == "S1-shaping"]
    if not rows:
        return []
    out = ["", "Shaping accuracy (S1): limit 2 connections, 50 messages/s; measured at the receiver over 60 s:", "",
           "| server | messages/s | vs 50/s | most in 1 s | most connections at once | connections | problem |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        rate = r.get("rate")
        out.append(f"| {r['server']} | {rate:.2f} | {r.get('rate_error_pct', 0):+.1f} % | {r.get('max_1s', '-')} | "
                   f"{r.get('max_connections', '-')} | {r.get('connections', '-')} | {r.get('problem') or ''} |"
                   if rate is not None else f"| {r['server']} | - | - | - | - | - | {r.get('problem') or ''} |")
    return out
