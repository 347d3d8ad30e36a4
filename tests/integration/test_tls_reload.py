"""SIGHUP re-reads the certificate and the passwd-file: new sessions get the
new ones, a session already in TLS carries on with the old, and a broken
file keeps the old one in service."""
import os
import shutil
import signal
import ssl
import subprocess

from harness import LOCAL_DOMAIN, message, wait_until, write_passwd_file


def make_cert(directory, name):
    cert, key = os.path.join(directory, f"{name}.pem"), os.path.join(directory, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", f"/CN={name}.petrel.test", "-keyout", key, "-out", cert],
                   check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    return cert, key


def der(cert_file):
    with open(cert_file) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def peer_cert(session):
    return session.sock.getpeercert(binary_form=True)


def install(src_cert, src_key, cert, key):
    shutil.copyfile(src_cert, cert)
    shutil.copyfile(src_key, key)


def hang_up(petrel, expect):
    before = petrel.log_text().count("reload:")
    petrel.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: petrel.log_text().count("reload:") > before, 10), petrel.log_text()
    assert expect in petrel.log_text(), petrel.log_text()


def test_sighup_swaps_the_certificate_for_new_sessions_only(tmp_path, start_petrel):
    one, two = make_cert(tmp_path, "one"), make_cert(tmp_path, "two")
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    install(*one, cert, key)
    petrel = start_petrel("--tls-cert", cert, "--tls-key", key)

    old = petrel.raw_tls()
    assert peer_cert(old) == der(one[0])
    install(*two, cert, key)
    hang_up(petrel, "TLS certificates reloaded")

    with petrel.raw_tls() as new:
        assert peer_cert(new) == der(two[0])
    # The session from before the reload is still served, in its old TLS.
    with old:
        assert old.command("MAIL FROM:<a@example.org>").code == 250
        assert old.command(f"RCPT TO:<alice@{LOCAL_DOMAIN}>").code == 250
        assert old.command("DATA").code == 354
        old.send(message() + b".\r\n")
        assert old.reply().code == 250
        assert old.command("QUIT").code == 221
    assert wait_until(lambda: len(petrel.message_files("alice")) == 1, 10)


def test_a_broken_certificate_on_sighup_keeps_the_old_one_in_service(tmp_path, start_petrel):
    one = make_cert(tmp_path, "one")
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    install(*one, cert, key)
    petrel = start_petrel("--tls-cert", cert, "--tls-key", key)
    with open(cert, "w") as f:
        f.write("not a certificate\n")
    hang_up(petrel, "TLS certificates kept as they were")
    with petrel.raw_tls() as s:
        assert peer_cert(s) == der(one[0])
    assert petrel.proc.poll() is None


def test_sighup_rereads_the_passwd_file(tmp_path, start_petrel, tls_files):
    users = tmp_path / "users"
    write_passwd_file(users, {f"dora@{LOCAL_DOMAIN}": "{PLAIN}first"})
    petrel = start_petrel("--tls-cert", tls_files.cert, "--tls-key", tls_files.key, "--passwd-file", str(users),
                          "--auth-failure-delay", "0s")
    with petrel.raw_tls() as s:
        assert s.auth_plain(f"dora@{LOCAL_DOMAIN}", "first").code == 235
    write_passwd_file(users, {f"dora@{LOCAL_DOMAIN}": "{PLAIN}second"})
    hang_up(petrel, "passwd-file")
    with petrel.raw_tls() as s:
        assert s.auth_plain(f"dora@{LOCAL_DOMAIN}", "first").code == 535
    with petrel.raw_tls() as s:
        assert s.auth_plain(f"dora@{LOCAL_DOMAIN}", "second").code == 235
