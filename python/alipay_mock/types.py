"""Typed views of what the admin API answers (``docs/admin-openapi.yaml`` of alipay-mock)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Optional

#: The account states an identity can be put in (``set_state``); each decides a business outcome.
AccountState = Literal[
    "normal",
    "not_certified",
    "related_unknown",
    "simulate_account",
    "paused",
    "zhima_not_opened",
    "system_error",
    "service_unavailable",
]

#: The authorization categories of ``zhima.auth.info.authquery``.
AuthCategory = Literal["C2B", "C2ConB", "B2B"]

#: What the ``hostile`` fault does to answers.
HostileMode = Literal["wrong_key", "missing_sign", "altered_body"]


@dataclass(frozen=True)
class KeyApp:
    """An app in key mode: what an SDK is configured with to call it.

    The keys are the gateway's public test fixtures (never use them anywhere real).
    """

    app_id: str
    #: The app private key, PKCS#8 PEM (Java, Node ``keyType: 'PKCS8'``).
    private_key_path: Path
    #: The same key as PKCS#1 PEM (Node's default, the official Python SDK).
    private_key_pkcs1_path: Path
    #: The key the SDK verifies answers with (the "Alipay public key"), SPKI PEM.
    alipay_public_key_path: Path
    #: The AES content-encryption key (Base64 of 16 bytes), or None when the app has none.
    aes_key: Optional[str]

    @property
    def private_key_pem(self) -> str:
        """The PKCS#8 PEM text of the app private key."""
        return self.private_key_path.read_text(encoding="ascii")

    @property
    def private_key_pkcs1_pem(self) -> str:
        """The PKCS#1 PEM text of the app private key."""
        return self.private_key_pkcs1_path.read_text(encoding="ascii")

    @property
    def alipay_public_key_pem(self) -> str:
        """The SPKI PEM text of the key answers are signed with."""
        return self.alipay_public_key_path.read_text(encoding="ascii")


@dataclass(frozen=True)
class CertApp:
    """The certificate-mode app: the files an SDK's certificate mode takes."""

    app_id: str
    #: The app private key, PKCS#8 PEM.
    private_key_path: Path
    #: The same key as PKCS#1 PEM.
    private_key_pkcs1_path: Path
    #: The app's public-key certificate (``appCertPath``).
    app_cert_path: Path
    #: The platform certificate (``alipayPublicCertPath``).
    alipay_cert_path: Path
    #: The root certificate bundle (``alipayRootCertPath``).
    alipay_root_cert_path: Path

    @property
    def private_key_pem(self) -> str:
        """The PKCS#8 PEM text of the app private key."""
        return self.private_key_path.read_text(encoding="ascii")


@dataclass(frozen=True)
class Scenario:
    """A forced outcome as the gateway stored it."""

    id: str
    outcome: Mapping[str, Any]
    match: Mapping[str, Any]
    #: With ``times``: the calls left.
    remaining: Optional[int]
    #: Everything the gateway answered.
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Scenario":
        """Reads a ``Scenario`` object of the admin API."""
        return cls(
            id=str(data["id"]),
            outcome=data.get("outcome", {}),
            match=data.get("match", {}),
            remaining=data.get("remaining"),
            raw=data,
        )


@dataclass(frozen=True)
class Authorization:
    """A person's authorization of an app in one category."""

    app_id: str
    identity: str
    auth_category: str
    open_id: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Authorization":
        """Reads an ``Authorization`` object of the admin API."""
        return cls(
            app_id=data["app_id"],
            identity=data["identity"],
            auth_category=data["auth_category"],
            open_id=data["open_id"],
        )


@dataclass(frozen=True)
class Outcome:
    """How the gateway answered a call: ``code`` and, for errors, ``sub_code``."""

    code: str
    sub_code: Optional[str] = None


@dataclass(frozen=True)
class JournalEntry:
    """One gateway call as received and answered (identity data masked by default)."""

    id: int
    #: When the call arrived (RFC 3339, real time even when the gateway's clock is frozen).
    time: str
    http_method: str
    app_id: Optional[str]
    method: Optional[str]
    charset: str
    #: The merged request parameters (values cut at 2 KiB).
    params: Mapping[str, str]
    #: True or False once checked; None when the gateway refused the call before.
    signature_verified: Optional[bool]
    #: The string the signature was verified over.
    sign_content: Optional[str]
    outcome: Outcome
    #: Faults applied to the call, e.g. ``latency:120ms``.
    faults: list[str]
    #: The signature doctor's finding (``code``, ``message``) when the signature failed.
    diagnosis: Optional[Mapping[str, str]]
    latency_ms: float
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "JournalEntry":
        """Reads a ``JournalEntry`` object of the admin API."""
        signature = data.get("signature") or {}
        outcome = data.get("outcome") or {}
        return cls(
            id=int(data["id"]),
            time=data["time"],
            http_method=data["http_method"],
            app_id=data.get("app_id"),
            method=data.get("method"),
            charset=data["charset"],
            params=data.get("params", {}),
            signature_verified=signature.get("verified"),
            sign_content=signature.get("sign_content"),
            outcome=Outcome(code=outcome["code"], sub_code=outcome.get("sub_code")),
            faults=list(data.get("faults", [])),
            diagnosis=data.get("diagnosis"),
            latency_ms=float(data["latency_ms"]),
            raw=data,
        )

    @property
    def biz_content(self) -> Optional[Any]:
        """``biz_content`` parsed as JSON, or None when the call had none or it is not JSON."""
        text = self.params.get("biz_content")
        if text is None:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return None


@dataclass(frozen=True)
class ClockState:
    """The gateway's clock: its now, and how it runs (frozen, shifted, or neither)."""

    now: str
    frozen_at: Optional[str]
    offset_seconds: Optional[int]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ClockState":
        """Reads the admin API's clock answer."""
        return cls(
            now=data["now"],
            frozen_at=data.get("frozen_at"),
            offset_seconds=data.get("offset_seconds"),
        )
