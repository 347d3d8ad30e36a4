"""C1: one campaign of N recipients (default 1,000,000) sent by
`petrel campaign send --api` through petreld, relayed to a counting
smtp-sink: the peak RSS of petreld and of petrel, sampled every second,
and how they move while the campaign runs (docs/performance.md,
"Campaign memory").

    bench/run.sh is not needed: run as root with Debian's python3,
    /usr/bin/python3 bench/campaign_memory.py [--n 1000000] [--petreld build/petreld]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench as b  # noqa: E402


def rss_kib(pid):
    return b.status_kib(pid, "VmRSS")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--petreld", default=os.path.join(b.ROOT, "build", "petreld"))
    ap.add_argument("--out", default=os.path.join(HERE, "results", "campaign-memory.json"))
    args = ap.parse_args()
    petrel = os.path.join(os.path.dirname(args.petreld), "petrel")
    d = tempfile.mkdtemp(prefix="petrel-c1.", dir="/tmp")
    os.chmod(d, 0o755)
    relay = b.RelaySink(d, host="127.0.0.1")
    http_port, smtp_port = b.free_port(), b.free_port()
    with open(os.path.join(d, "tokens"), "w") as f:
        f.write("c1:c1-token-0123456789abcdef\n")
    os.chmod(os.path.join(d, "tokens"), 0o600)
    with open(os.path.join(d, "token"), "w") as f:
        f.write("c1-token-0123456789abcdef\n")
    os.chmod(os.path.join(d, "token"), 0o600)
    server = subprocess.Popen([args.petreld, "--listen", f"127.0.0.1:{smtp_port}", "--spool", f"{d}/spool",
                               "--maildir", f"{d}/mail", "--http-listen", f"127.0.0.1:{http_port}",
                               "--api-tokens-file", f"{d}/tokens", "--log-level", "warn",
                               "--transport", f"{b.RELAY_DOMAIN}=smtp:[127.0.0.1]:{relay.port}"],
                              stderr=open(f"{d}/petreld.log", "w"))
    b.wait_for(lambda: b.status_kib(server.pid, "VmRSS") > 0, 5)
    time.sleep(1)
    with open(f"{d}/list.csv", "w") as f:
        f.write("email,name,first,code,city\n")
        for i in range(args.n):
            f.write(f"u{i}@{b.RELAY_DOMAIN},User {i},User{i},C{i:07d},{('Oslo', 'Lyon', 'Porto')[i % 3]}\n")
    with open(f"{d}/msg.json", "w") as f:
        json.dump({"envelope_sender": "bounces@news.bench", "from": {"email": "news@news.bench"},
                   "subject": "Hello {{first}}", "text": "Your code is {{code}} in {{city}}.\n" + "x" * 1500 + "\n"}, f)
    samples = []
    done = threading.Event()
    client = subprocess.Popen([petrel, "campaign", "send", "--api", f"http://127.0.0.1:{http_port}",
                               "--token-file", f"{d}/token", "--recipients", f"{d}/list.csv", "--template",
                               f"{d}/msg.json", "--campaign", "c1", "--state", f"{d}/state", "--quiet",
                               "--report", f"{d}/report.csv", "--concurrency", "4"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    t0 = time.monotonic()

    def sample():
        while not done.is_set():
            samples.append((time.monotonic() - t0, rss_kib(server.pid), rss_kib(client.pid), relay.counters()[1]))
            done.wait(1.0)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = client.communicate()
    t_sent = time.monotonic() - t0
    b.wait_for(lambda: relay.counters()[1] >= args.n, 1800, interval=0.5)
    t_end = time.monotonic() - t0
    done.set()
    sampler.join()
    result = {"n": args.n, "petrel_exit": client.returncode, "sent_s": t_sent, "delivered_s": t_end,
              "delivered": relay.counters()[1],
              "petreld_peak_mib": max(s[1] for s in samples) / 1024, "petrel_peak_mib": max(s[2] for s in samples) / 1024,
              "petreld_hwm_mib": b.status_kib(server.pid, "VmHWM") / 1024,
              "petreld_rss_by_tenth": [round(samples[int(len(samples) * k / 10)][1] / 1024, 1) for k in range(10)],
              "petrel_rss_by_tenth": [round(samples[int(len(samples) * k / 10)][2] / 1024, 1) for k in range(10)],
              "client_output_tail": out.decode(errors="replace")[-400:]}
    server.terminate()
    server.wait(30)
    relay.stop()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result, indent=1))
    subprocess.run(["rm", "-rf", d])


if __name__ == "__main__":
    main()
