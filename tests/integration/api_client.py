"""Helpers for the HTTP API tests: a petreld with [http] on loopback and a
tokens file, and a small client over http.client (no third-party code)."""
import http.client
import json
import os

from harness import HOST, free_port

TOKEN = "t0ken-for-the-tests-0123456789abcdef"
SHOP_TOKEN = "shop1-token-0123456789abcdef"


def write_tokens(directory, text=None, mode=0o600):
    path = os.path.join(str(directory), "api_tokens")
    with open(path, "w") as f:
        f.write(text if text is not None else f"ops:{TOKEN}\nshop:{SHOP_TOKEN}:shop1\n")
    os.chmod(path, mode)
    return path


def write_config(directory, http_extra="", extra=""):
    """A config file whose [http] listens on a free loopback port."""
    port = free_port()
    tokens = write_tokens(directory)
    path = os.path.join(str(directory), "petreld.toml")
    with open(path, "w") as f:
        f.write(f'[http]\nlisten = "{HOST}:{port}"\napi_tokens_file = "{tokens}"\n{http_extra}\n{extra}\n')
    return path, port


class Api:
    def __init__(self, port, host=HOST, token=TOKEN):
        self.host, self.port, self.token = host, port, token

    def request(self, method, path, body=None, token=None, headers=None, content_type="application/json"):
        c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        h = dict(headers or {})
        tok = self.token if token is None else token
        if tok:
            h["Authorization"] = f"Bearer {tok}"
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
            h["Content-Type"] = content_type
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        c.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return r.status, dict(r.getheaders()), parsed, raw

    def inject(self, body, **kw):
        return self.request("POST", "/api/v1/messages", body, **kw)
