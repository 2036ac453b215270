#!/usr/bin/env python3
"""Writes seed corpora for the cargo-fuzz targets into fuzz/corpus/<target>/.

Seeds are real inputs (the test vectors, the fixtures, the README's admin examples) so
the fuzzer starts from requests and records the gateway accepts. Standard library only.
Usage: fuzz/seeds.py  (run by scripts/fuzz.sh; the corpus is not kept in git)
"""
import base64
import json
import pathlib
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    (folder / f"seed-{name}").write_bytes(data)


def form(params, charset):
    return urllib.parse.urlencode(params, encoding=charset).encode("ascii")


vectors = json.loads((ROOT / "tests/data/request_vectors.json").read_text("utf-8"))
for v in vectors:
    params = dict(v["params"], sign=v["sign"])
    charset = v["charset"]
    biz = params.pop("biz_content")
    query = form(params, charset)
    body = form({"biz_content": biz}, charset)
    for target in ("params", "sign_content"):
        # Selector 1: form body; 2: form body declaring GBK (see fuzz_targets/request.rs).
        write(target, v["name"], b"\x01" + query + b"\x00" + body)
        write(target, v["name"] + "-get", b"\x00" + query + b"&" + body)
        write(target, v["name"] + "-gbk-ct", b"\x02" + body + b"\x00" + query)
    write("biz_content", v["name"], biz)
for target in ("params", "sign_content"):
    write(target, "emoji-gb18030", b"\x00charset=GBK&v=%94%39%FC%36&v=%26%23128512%3B")
    write(target, "duplicates", b"\x01a=1&a=2&%80=x&%A2%E3=y\x00a=3&b=&c")

biz_examples = [
    {"identity_param": json.dumps({"userId": "2088102000000001"}), "identity_type": "1"},
    {"identity_param": json.dumps({"certType": "IDENTITY_CARD", "name": "李四",
                                   "certNo": "110101199001011001"}, ensure_ascii=False),
     "identity_type": 2, "auth_category": "C2ConB"},
    {"identity_param": {"cert_type": "IDENTITY_CARD"}, "identity_type": "2"},
]
for i, biz in enumerate(biz_examples):
    write("biz_content", f"example-{i}", json.dumps(biz, ensure_ascii=False))

for pem in sorted((ROOT / "fixtures/keys").glob("*.pem")):
    text = pem.read_text("ascii")
    write("keys", pem.stem, text)
    body = "".join(line for line in text.splitlines() if not line.startswith("-----"))
    write("keys", pem.stem + "-bare", body)

public_key = (ROOT / "fixtures/keys/app_public_key.pem").read_text("ascii")
apps = [{"app_id": "2021000000000009", "name": "fuzz", "public_keys": {"RSA2": public_key},
         "allowed_methods": ["zhima.auth.info.authquery"],
         "app_auth_tokens": [{"token": "t1", "expires_at": "2030-01-01T00:00:00Z"}]}]
identities = json.loads((ROOT / "fixtures/identities.json").read_text("utf-8"))["identities"]
authorizations = json.loads(
    (ROOT / "fixtures/authorizations.json").read_text("utf-8"))["authorizations"]
scenarios = [
    {"times": 1, "outcome": {"error": "ZM_ACCOUNT_PAUSE"}},
    {"match": {"method": "zhima.auth.info.authquery", "app_id": "2014072300007148",
               "identity": "zhangsan"}, "nth": 2, "outcome": {"authorized": True,
                                                             "open_id": "2088000000000001"}},
    {"for_seconds": 60, "outcome": {"error": "isp.unknow-error"}},
]
faults = [
    {"seed": 42, "unknown_error_rate": 0.5},
    {"seed": 1, "latency_ms": {"min": 1, "max": 5}, "drop_connection_rate": 0.1,
     "hostile": {"mode": "wrong_key", "rate": 1.0}},
    {"seed": 7, "latency_ms": 3},
]
for selector, records in enumerate([apps, identities, authorizations, scenarios, faults]):
    for i, record in enumerate(records):
        write("admin_json", f"{selector}-{i}",
              bytes([selector]) + json.dumps(record, ensure_ascii=False).encode("utf-8"))
