"""Configuration files: a mistake stops petreld with exit status 2 and a
"FILE:LINE: message" naming it; a good file is all petreld needs."""
import subprocess

from harness import HOST, LOCAL_DOMAIN, PETRELD, Petrel, free_port


def run_petreld(*args, timeout=10):
    return subprocess.run([PETRELD, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def write_config(tmp_path, text, name="petreld.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_unknown_key_exits_2_naming_file_and_line(tmp_path):
    path = write_config(tmp_path, '[server]\nhostname = "mx.local.test"\nlisen = ["127.0.0.1:2525"]\n')
    r = run_petreld("--config", path, "--check-config")
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 2, err
    assert f"{path}:3: " in err
    assert "lisen" in err


def test_bad_value_exits_2_naming_file_and_line(tmp_path):
    path = write_config(tmp_path, '[limits]\n\n# none at all?\nmax_recipients = 0\n')
    r = run_petreld("--config", path, "--check-config")
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 2, err
    assert f"{path}:4: " in err


def test_toml_syntax_error_exits_2_naming_file_and_line(tmp_path):
    path = write_config(tmp_path, '[server]\nhostname = "mx.local.test"\nmax_sessions = = 3\n')
    r = run_petreld("--config", path, "--check-config")
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 2, err
    assert f"{path}:3:" in err


def test_missing_config_file_exits_2(tmp_path):
    path = str(tmp_path / "nowhere.toml")
    r = run_petreld("--config", path, "--check-config")
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 2, err
    assert path in err


def test_check_config_accepts_a_good_file_without_starting(tmp_path):
    port = free_port()
    path = write_config(tmp_path, f'[server]\nhostname = "mx.local.test"\nlisten = ["{HOST}:{port}"]\n'
                                  f'[local]\ndomains = ["{LOCAL_DOMAIN}"]\n')
    r = run_petreld("--config", path, "--check-config")
    assert r.returncode == 0, r.stderr.decode(errors="replace")


def test_config_file_alone_runs_the_server(tmp_path):
    port = free_port()
    work = tmp_path / "work"
    work.mkdir()
    path = write_config(tmp_path, f"""\
[server]
hostname = "mx.local.test"
listen = ["{HOST}:{port}"]

[local]
domains = ["{LOCAL_DOMAIN}"]
maildir = "{work}/maildir"

[spool]
dir = "{work}/spool"

[auth_checks]
enabled = false
""")

    class FromConfig(Petrel):
        def argv(self):
            return [PETRELD, "--config", path]

    p = FromConfig(work, port=port)
    try:
        p.start()
        with p.connect() as s:
            greeting = s.reply()
        assert greeting.code == 220 and greeting.lines[0].startswith("mx.local.test "), greeting
        p.send_ok(user="user", text="configured by file")
    finally:
        rc = p.stop()
        print(p.stderr())
    assert rc == 0
