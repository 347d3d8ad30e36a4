"""Mail loops end (RFC 5321 §6.3): two petrelds that relay a domain to each
other stop when a message carries more than [limits] max_hops Received:
fields, refusing it with 554 5.4.6; the sender gets one bounce that says so.

    PETRELD=/work/main/build/petreld /usr/bin/python3 -m pytest -q tests/integration/test_mail_loop.py
"""
from harness import HOST, LOCAL_DOMAIN, free_port, wait_until


def test_two_servers_relaying_to_each_other_stop_at_max_hops(servers):
    port_a, port_b = free_port(), free_port()
    common = ["--trusted-network", "127.0.0.0/8", "--retry-intervals", "1s"]
    a = servers("a", *common, "--transport", f"loop.test=smtp:[{HOST}]:{port_b}", port=port_a)
    b = servers("b", *common, "--transport", f"loop.test=smtp:[{HOST}]:{port_a}", port=port_b)
    with a.smtp() as c:
        c.sendmail(f"sender@{LOCAL_DOMAIN}", ["someone@loop.test"], b"Subject: round and round\r\n\r\nhello\r\n")

    def bounced():
        return [m for p in (a, b) for m in p.messages("sender")]

    assert wait_until(lambda: bounced(), 60), a.stderr()[-3000:] + b.stderr()[-3000:]
    bounces = bounced()
    assert len(bounces) == 1
    text = bounces[0].message.decode(errors="replace")
    assert "5.4.6" in text and "Received" in text
    # The message went round 50 times at most: the refusal is at the 51st hop.
    logs = a.stderr() + b.stderr()
    assert logs.count("result=queued") <= 51
