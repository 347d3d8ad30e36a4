"""petrel campaign send (docs/campaign.md): a CSV list and a template through
petreld's HTTP API in idempotent batches, or over SMTP to any server; a
state file that survives Ctrl-C and kill -9 without anyone getting a
message twice, and a report of what became of every recipient."""
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from api_client import TOKEN
from harness import HOST, LOCAL_DOMAIN, PETRELD, free_port, wait_until
from test_api import api  # noqa: F401  (the fixture: petreld with [http] on loopback)

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")

RAW = ("From: News <news@example.org>\nTo: {{name}} <{{email}}>\nSubject: Hello {{name}}\n\n"
       "Your code is {{code}}.\n")


# --------------------------------------------------------------------------
# helpers

def write_list(path, rows, header=("email", "name", "code")):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def users(n, prefix="u"):
    return [(f"{prefix}{i}@{LOCAL_DOMAIN}", f"User {i}", f"C{i:05d}") for i in range(n)]


def inputs(tmp_path, rows, template=RAW, name="msg.eml"):
    """The list, the template and the token file, as paths."""
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    (tmp_path / name).write_text(template)
    return write_list(tmp_path / "list.csv", rows), str(tmp_path / name), str(token)


def api_args(client, listing, template, token, *extra, campaign="spring"):
    return ["campaign", "send", "--api", f"http://{HOST}:{client.port}", "--token-file", token,
            "--recipients", listing, "--template", template, "--campaign", campaign,
            "--envelope-sender", f"bounces@{LOCAL_DOMAIN}", *extra]


def petrel(*args, timeout=60):
    r = subprocess.run([PETREL, *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def read_report(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def delivered_per_user(p):
    """{user: number of messages in their Maildir}."""
    out = {}
    domain = os.path.join(p.maildir, LOCAL_DOMAIN)
    for user in os.listdir(domain) if os.path.isdir(domain) else ():
        try:
            out[user] = len(os.listdir(os.path.join(domain, user, "new")))
        except FileNotFoundError:        # the Maildir is being made
            pass
    return out


def wait_delivered(p, total, timeout=30):
    assert wait_until(lambda: sum(delivered_per_user(p).values()) >= total, timeout), \
        f"{sum(delivered_per_user(p).values())} of {total} delivered"
    time.sleep(0.5)                          # and no more come
    return delivered_per_user(p)


def state_lines(path):
    try:
        with open(path) as f:
            return [line for line in f.read().split("\n")[1:] if line]
    except FileNotFoundError:
        return []


# --------------------------------------------------------------------------
# through the API

def test_a_list_with_variables_is_delivered_and_the_report_is_complete(api, tmp_path):
    p, client = api()
    rows = users(1200)
    listing, template, token = inputs(tmp_path, rows)
    report = tmp_path / "report.csv"
    status, out, err = petrel(*api_args(client, listing, template, token, "--report", str(report), "--json"))
    assert status == 0, err
    summary = json.loads(out)
    assert (summary["accepted"], summary["rejected"], summary["invalid"], summary["rows"]) == (1200, 0, 0, 1200)
    lines = read_report(report)
    assert [r["email"] for r in sorted(lines, key=lambda r: int(r["email"][1:].split("@")[0]))] == [r[0] for r in rows]
    assert all(r["status"] == "accepted" and len(r["queue_id"]) == 16 and r["reason"] == "" for r in lines)
    assert len({r["queue_id"] for r in lines}) == 1200
    counts = wait_delivered(p, 1200)
    assert len(counts) == 1200 and set(counts.values()) == {1}
    m = p.messages("u7")[0].message
    assert b"Subject: Hello User 7\r\n" in m and b"Your code is C00007." in m and b"To: User 7 <u7@local.test>" in m
    # Batches of 500 (the default): 500, 500 and 200 recipients.
    log = p.log_text()
    assert log.count("campaign=spring tenant=- recipients=500 ") == 2 and "recipients=200 " in log


def test_bad_rows_are_reported_as_invalid_and_the_others_sent(api, tmp_path):
    p, client = api()
    listing, template, token = inputs(tmp_path, [])
    with open(listing, "w") as f:
        f.write("\ufeffEmail,Name,code\r\n"
                f"ann@{LOCAL_DOMAIN},Ann,A1\r\n"
                "no-at-sign,Nobody,X\r\n"
                f"two words@{LOCAL_DOMAIN},Two,X\r\n"
                f"\"bob@{LOCAL_DOMAIN}\",\"Bob, \"\"the builder\"\"\",B2\r\n"
                f"short@{LOCAL_DOMAIN}\r\n"
                "\r\n"
                ",Empty,X\r\n"
                f"cy@{LOCAL_DOMAIN},\"Cy\nLine\",C3\r\n")
    report = tmp_path / "report.json"
    status, out, err = petrel(*api_args(client, listing, template, token, "--report", str(report)))
    assert status == 0, err
    lines = json.loads(report.read_text())
    by_status = {}
    for r in lines:
        by_status.setdefault(r["status"], []).append(r)
    assert sorted(r["email"] for r in by_status["accepted"]) == [f"ann@{LOCAL_DOMAIN}", f"bob@{LOCAL_DOMAIN}",
                                                                f"cy@{LOCAL_DOMAIN}"]
    invalid = {r["email"]: r["reason"] for r in by_status["invalid"]}
    assert set(invalid) == {"no-at-sign", f"two words@{LOCAL_DOMAIN}", f"short@{LOCAL_DOMAIN}", ""}
    assert invalid["no-at-sign"].startswith("line 3: ")
    assert invalid[f"short@{LOCAL_DOMAIN}"] == "line 6: 1 fields where the header has 3"
    assert invalid[""].startswith("line 8: ")
    assert "invalid 4" in out
    wait_delivered(p, 3)
    assert b"Hello Bob, \"the builder\"" in p.messages("bob")[0].message


def test_suppressed_recipients_are_reported_as_suppressed(api, tmp_path):
    p, client = api()
    status, _, _, _ = client.request("POST", "/api/v1/suppressions",
                                     {"addresses": [f"u3@{LOCAL_DOMAIN}", f"u5@{LOCAL_DOMAIN}"]})
    assert status == 200
    listing, template, token = inputs(tmp_path, users(8))
    report = tmp_path / "report.csv"
    status, out, err = petrel(*api_args(client, listing, template, token, "--report", str(report), "--batch", "3"))
    assert status == 0, err
    lines = {r["email"]: r for r in read_report(report)}
    assert len(lines) == 8
    for n in (3, 5):
        assert lines[f"u{n}@{LOCAL_DOMAIN}"]["status"] == "suppressed"
        assert "manual" in lines[f"u{n}@{LOCAL_DOMAIN}"]["reason"]
    assert sum(r["status"] == "accepted" for r in lines.values()) == 6
    assert "suppressed 2" in out
    counts = wait_delivered(p, 6)
    assert "u3" not in counts and "u5" not in counts


def start_campaign(client, listing, template, token, *extra):
    return subprocess.Popen([PETREL, *api_args(client, listing, template, token, *extra)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_kill_9_then_the_same_state_file_resumes_and_no_one_gets_two(api, tmp_path):
    p, client = api()
    listing, template, token = inputs(tmp_path, users(3000))
    state, report = str(tmp_path / "state.jsonl"), str(tmp_path / "report.csv")
    flags = ("--state", state, "--report", report, "--batch", "100", "--concurrency", "4")
    first = start_campaign(client, listing, template, token, "--rate", "300/s", *flags)
    assert wait_until(lambda: len(state_lines(state)) >= 8, 20), first.stderr.read()
    first.kill()                                 # kill -9: no chance to write anything more
    first.wait(5)
    done_before = len(state_lines(state))
    assert 8 <= done_before < 30
    status, out, err = petrel(*api_args(client, listing, template, token, *flags))
    assert status == 0, err
    assert "resuming from" in err
    assert len(state_lines(state)) == 30
    lines = read_report(report)
    assert len(lines) == 3000 and {r["email"] for r in lines} == {u[0] for u in users(3000)}
    assert all(r["status"] == "accepted" for r in lines)
    counts = wait_delivered(p, 3000, timeout=40)
    assert len(counts) == 3000 and set(counts.values()) == {1}
    # A third run finds nothing to do and sends nothing.
    status, out, err = petrel(*api_args(client, listing, template, token, *flags))
    assert status == 0 and "3000 of 3000 recipients done" in out, err + out
    assert wait_delivered(p, 3000) == counts


def test_ctrl_c_stops_cleanly_with_exit_130_and_a_rerun_completes(api, tmp_path):
    p, client = api()
    listing, template, token = inputs(tmp_path, users(800))
    state, report = str(tmp_path / "state.jsonl"), str(tmp_path / "report.csv")
    flags = ("--state", state, "--report", report, "--batch", "50")
    first = start_campaign(client, listing, template, token, "--rate", "200/s", *flags)
    assert wait_until(lambda: len(state_lines(state)) >= 3, 20)
    first.send_signal(signal.SIGINT)
    out, err = first.communicate(timeout=20)
    assert first.returncode == 130, err
    assert b"interrupted" in err and b"run the same command again to resume" in err
    partial = read_report(report)
    assert 0 < len(partial) < 800 and len(partial) == 50 * len(state_lines(state))
    status, out, err = petrel(*api_args(client, listing, template, token, *flags))
    assert status == 0, err
    assert len(read_report(report)) == 800
    counts = wait_delivered(p, 800)
    assert len(counts) == 800 and set(counts.values()) == {1}


def test_a_state_file_is_refused_to_another_list(api, tmp_path):
    p, client = api()
    listing, template, token = inputs(tmp_path, users(5))
    state = str(tmp_path / "state.jsonl")
    assert petrel(*api_args(client, listing, template, token, "--state", state))[0] == 0
    write_list(listing, users(6))
    status, out, err = petrel(*api_args(client, listing, template, token, "--state", state))
    assert status == 2 and "will not resume" in err and "recipient list is not the same" in err, err


def test_a_bad_template_is_a_clear_error_with_exit_1(api, tmp_path):
    p, client = api()
    listing, template, token = inputs(tmp_path, users(3), template="Subject: hi\n\n{{#open}}never closed\n")
    status, out, err = petrel(*api_args(client, listing, template, token))
    assert status == 1, err
    assert "batch 1 refused: HTTP 422" in err and f"(in {template} line 3, column" in err, err


def test_a_wrong_token_is_a_clear_401(api, tmp_path):
    p, client = api()
    listing, template, token = inputs(tmp_path, users(3))
    with open(token, "w") as f:
        f.write("not-the-token-0123456789\n")
    status, out, err = petrel(*api_args(client, listing, template, token))
    assert status == 1 and "HTTP 401" in err and "--token-file" in err, err


def test_usage_errors_name_the_file_and_line_with_exit_2(api, tmp_path):
    p, client = api()
    listing, template, token = inputs(tmp_path, users(2))
    with open(listing, "w") as f:
        f.write("mail,name\nann@local.test,Ann\n")
    status, _, err = petrel(*api_args(client, listing, template, token))
    assert status == 2 and f"{listing} line 1: the header row has no 'email' column" in err, err
    with open(listing, "wb") as f:
        f.write(b"email,name\nann@local.test,Ann\nbob@local.test,B\xe9la\n")
    status, _, err = petrel(*api_args(client, listing, template, token))
    assert status == 2 and f"{listing} line 3: invalid UTF-8" in err, err
    write_list(listing, users(2))
    status, _, err = petrel(*api_args(client, listing, template, token)[:-2])   # no --envelope-sender
    assert status == 2 and "give --envelope-sender" in err, err
    os.chmod(token, 0o644)
    status, _, err = petrel(*api_args(client, listing, template, token, "--rate", "fast"))
    assert status == 2 and "--rate 'fast'" in err and "chmod 600" in err, err


def test_json_template_and_https_with_a_ca_file(start_petrel, tmp_path, tls_files):
    from api_client import write_tokens
    from test_api import port_open_at
    port = free_port(HOST)
    conf = tmp_path / "p.toml"
    conf.write_text(f'[http]\nlisten = "{HOST}:{port}"\ntls = true\napi_tokens_file = "{write_tokens(tmp_path)}"\n'
                    f'[tls]\ncert = "{tls_files.cert}"\nkey = "{tls_files.key}"\n')
    p = start_petrel("--config", str(conf))
    assert wait_until(lambda: port_open_at(HOST, port), 10), p.stderr()
    body = {"envelope_sender": f"bounces@{LOCAL_DOMAIN}", "from": {"email": "news@example.org", "name": "News"},
            "subject": "Hi {{name}}", "text": "Code {{code}}", "campaign": "from-file"}
    listing, template, token = inputs(tmp_path, users(4), template=json.dumps(body), name="msg.json")
    base = ["campaign", "send", "--api", f"https://{HOST}:{port}", "--token-file", token, "--recipients", listing,
            "--template", template]
    status, _, err = petrel(*base)                          # the test CA is not in the system store
    assert status == 1 and "certificate verify failed" in err and "--insecure" in err, err
    status, out, err = petrel(*base, "--ca-file", tls_files.ca, "--json")
    assert status == 0, err
    assert json.loads(out)["campaign"] == "from-file"
    status, out, err = petrel(*base, "--insecure", "--campaign", "again", "--json")
    assert status == 0 and json.loads(out)["accepted"] == 4, err
    counts = wait_delivered(p, 8)
    assert counts == {f"u{i}": 2 for i in range(4)}
    assert b"Subject: Hi User 2\r\n" in p.messages("u2")[0].message


# --------------------------------------------------------------------------
# over SMTP

def extensions(doc):
    return {e["extension"]: (e["offered"], e["used"]) for e in doc["extensions"]}


def test_smtp_to_petreld_uses_pipelining_chunking_and_size(petrel_server, tmp_path):
    p = petrel_server
    listing, template, token = inputs(tmp_path, users(30))
    report = tmp_path / "report.csv"
    status, out, err = petrel("campaign", "send", "--server", f"{HOST}:{p.port}", "--recipients", listing,
                              "--template", template, "--envelope-sender", f"bounces@{LOCAL_DOMAIN}",
                              "--concurrency", "3", "--messages-per-connection", "7", "--report", str(report),
                              "--helo", "client.test", "--json")
    assert status == 0, err
    doc = json.loads(out)
    assert doc["accepted"] == 30 and doc["mode"] == "smtp"
    ext = extensions(doc)
    assert ext["PIPELINING"] == (True, True) and ext["CHUNKING"] == (True, True) and ext["SIZE"] == (True, True)
    assert doc["max_recipients_per_transaction"] == 1      # personalised: one message each
    lines = read_report(report)
    assert len(lines) == 30 and all(r["status"] == "accepted" and len(r["queue_id"]) == 16 for r in lines)
    counts = wait_delivered(p, 30)
    assert len(counts) == 30 and set(counts.values()) == {1}
    assert b"Subject: Hello User 4\r\n" in p.messages("u4")[0].message


@pytest.fixture
def petrel_server(start_petrel):
    return start_petrel()


@pytest.fixture
def smtp_sink():
    sink = next((s for s in ("/usr/sbin/smtp-sink", "/usr/lib/postfix/sbin/smtp-sink") if os.access(s, os.X_OK)),
                None) or shutil.which("smtp-sink")
    if not sink:
        pytest.skip("Postfix's smtp-sink is not installed")
    port = free_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    proc = subprocess.Popen([sink, *user, f"{HOST}:{port}", "20"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def listening():
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return True
        except OSError:
            return False
    assert wait_until(listening, 5)
    yield port
    proc.terminate()
    proc.wait(timeout=5)


def test_smtp_to_postfix_smtp_sink_reports_the_extensions(smtp_sink, tmp_path):
    listing, template, _ = inputs(tmp_path, users(250, prefix="r"),
                                  template="From: news@example.org\nSubject: the same for all\n\nHello.\n")
    report = tmp_path / "report.csv"
    args = ["campaign", "send", "--server", f"{HOST}:{smtp_sink}", "--recipients", listing, "--template", template,
            "--envelope-sender", "news@example.org", "--report", str(report), "--helo", "client.test"]
    status, out, err = petrel(*args)
    assert status == 0, err
    assert "250 of 250 recipients done" in out
    table = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.split()[:1] and
             line.split()[0] in ("PIPELINING", "SIZE", "CHUNKING", "8BITMIME", "STARTTLS")}
    assert table["PIPELINING"] == ["yes", "yes"], out
    assert table["STARTTLS"][1] == "no"
    # No tag in the template: up to 100 recipients share one transaction.
    assert "recipients per transaction: up to 100" in out
    assert len(read_report(report)) == 250
    status, out, err = petrel(*args, "--json")
    assert status == 0 and json.loads(out)["max_recipients_per_transaction"] == 100, err


def test_smtp_to_a_closed_port_fails_clearly(tmp_path):
    listing, template, _ = inputs(tmp_path, users(3))
    status, out, err = petrel("campaign", "send", "--server", f"{HOST}:{free_port()}", "--recipients", listing,
                              "--template", template, "--envelope-sender", f"bounces@{LOCAL_DOMAIN}", "--timeout", "5")
    assert status == 1 and "no message got through" in err and "refused" in err, err
