"""A thin client of alipay-mock's admin API (``/__admin/``), standard library only."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from typing import Any, Mapping, Optional, Union

from .types import (
    AccountState,
    AuthCategory,
    Authorization,
    ClockState,
    HostileMode,
    JournalEntry,
    Scenario,
)

#: The app most tests use: RSA2 and RSA, AES key, seeded authorizations.
DEFAULT_APP_ID = "2014072300007148"


class AdminError(Exception):
    """The admin API refused a call; ``message`` is its ``{"error": …}`` text.

    Attributes:
        status: the HTTP status (400 bad input, 404 unknown id, 409 conflict, 401 token…).
        message: what the gateway said is wrong.
        method: the HTTP method of the call.
        path: the path and query of the call.
    """

    def __init__(self, status: int, message: str, method: str, path: str) -> None:
        super().__init__(f"{method} {path} answered {status}: {message}")
        self.status = status
        self.message = message
        self.method = method
        self.path = path


def _query(params: Mapping[str, Any]) -> str:
    pairs = {k: v for k, v in params.items() if v is not None}
    return "?" + urllib.parse.urlencode(pairs) if pairs else ""


class AdminClient:
    """Calls the admin API of one gateway.

    Args:
        base_url: ``http://HOST:PORT`` of the gateway (no path).
        token: the ``--admin-token`` of the gateway, if it has one.
        timeout: seconds to wait for each answer.
    """

    def __init__(self, base_url: str, token: Optional[str] = None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self.clock = Clock(self)

    def call(
        self,
        method: str,
        path: str,
        body: Optional[Any] = None,
        query: Optional[Mapping[str, Any]] = None,
    ) -> Any:
        """One admin call; the parsed JSON answer (None for 204, text for non-JSON answers).

        Raises:
            AdminError: the gateway answered a status of 400 or more.
        """
        target = path + _query(query or {})
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.base_url + target, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:
                raw = answer.read()
                kind = answer.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                message = json.loads(raw)["error"]
            except (ValueError, KeyError, TypeError):
                message = raw.decode("utf-8", "replace") or error.reason
            raise AdminError(error.code, str(message), method, target) from None
        if not raw:
            return None
        if "json" in kind:
            return json.loads(raw)
        return raw.decode("utf-8")

    # ------------------------------------------------------------------ scenarios
    def force(
        self,
        error: Optional[str] = None,
        *,
        authorized: Optional[bool] = None,
        open_id: Optional[str] = None,
        times: Optional[int] = None,
        nth: Optional[int] = None,
        for_seconds: Optional[int] = None,
        method: Optional[str] = None,
        app_id: Optional[str] = None,
        identity: Optional[str] = None,
    ) -> Scenario:
        """Forces the outcome of matching calls (a scenario).

        Give either ``error`` (any public ``sub_code`` such as ``isp.unknow-error`` or a
        business code such as ``ZM_ACCOUNT_PAUSE``) or ``authorized``. At most one of
        ``times`` (the next N calls), ``nth`` (only the N-th) and ``for_seconds``; none
        means the next call only. ``method``, ``app_id`` and ``identity`` (an identity
        id) narrow which calls match.
        """
        if (error is None) == (authorized is None):
            raise ValueError("force() takes either error=… or authorized=…")
        outcome: dict[str, Any] = {"error": error} if error is not None else {"authorized": authorized}
        if open_id is not None:
            outcome["open_id"] = open_id
        body: dict[str, Any] = {"outcome": outcome}
        match = {k: v for k, v in (("method", method), ("app_id", app_id), ("identity", identity)) if v}
        if match:
            body["match"] = match
        for name, value in (("times", times), ("nth", nth), ("for_seconds", for_seconds)):
            if value is not None:
                body[name] = value
        return Scenario.from_json(self.call("POST", "/__admin/scenarios", body))

    def scenarios(self, app_id: Optional[str] = None) -> list[Scenario]:
        """The scenarios in force (or one app's)."""
        answer = self.call("GET", "/__admin/scenarios", query={"app_id": app_id})
        return [Scenario.from_json(s) for s in answer]

    # ------------------------------------------------------------------ records
    def grant(
        self,
        identity: str,
        *,
        app_id: str = DEFAULT_APP_ID,
        auth_category: AuthCategory = "C2B",
        open_id: Optional[str] = None,
    ) -> Authorization:
        """Records that ``identity`` (an identity id such as ``lisi``) authorised ``app_id``."""
        body: dict[str, Any] = {"app_id": app_id, "identity": identity, "auth_category": auth_category}
        if open_id is not None:
            body["open_id"] = open_id
        return Authorization.from_json(self.call("POST", "/__admin/authorizations", body))

    def revoke(
        self,
        identity: str,
        *,
        app_id: str = DEFAULT_APP_ID,
        auth_category: Optional[AuthCategory] = None,
    ) -> int:
        """Revokes ``identity``'s authorizations of ``app_id`` (one category, or all); how many.

        Raises:
            AdminError: 404 when there was nothing to revoke.
        """
        query = {"app_id": app_id, "identity": identity, "auth_category": auth_category}
        return int(self.call("DELETE", "/__admin/authorizations", query=query)["revoked"])

    def authorizations(
        self, *, app_id: Optional[str] = None, identity: Optional[str] = None
    ) -> list[Authorization]:
        """The authorizations, optionally of one app and/or one identity."""
        answer = self.call("GET", "/__admin/authorizations", query={"app_id": app_id, "identity": identity})
        return [Authorization.from_json(a) for a in answer]

    def set_state(self, identity: str, state: AccountState) -> Mapping[str, Any]:
        """Puts an identity's account in ``state`` (e.g. ``paused``); the identity as stored."""
        return self.call("PATCH", f"/__admin/identities/{_segment(identity)}", {"state": state})

    def app(self, app_id: str = DEFAULT_APP_ID) -> Mapping[str, Any]:
        """An app as the gateway holds it (keys, ``platform_public_key``, ``cert_sns``…)."""
        return self.call("GET", f"/__admin/apps/{_segment(app_id)}")

    def add_app(self, app: Mapping[str, Any]) -> Mapping[str, Any]:
        """Registers an app (the admin API's ``App`` object); the app as stored."""
        return self.call("POST", "/__admin/apps", dict(app))

    # ------------------------------------------------------------------ faults
    def set_faults(
        self,
        *,
        seed: int = 0,
        latency_ms: Union[int, tuple[int, int], None] = None,
        unknown_error_rate: Optional[float] = None,
        drop_connection_rate: Optional[float] = None,
        hostile: Optional[HostileMode] = None,
        hostile_rate: Optional[float] = None,
        app_id: Optional[str] = None,
    ) -> Mapping[str, Any]:
        """Replaces the random faults (of every app, or of ``app_id``); the faults in force.

        Every draw comes from an RNG seeded by ``seed``, so a run is reproducible.
        ``latency_ms`` is fixed or ``(min, max)``; ``hostile`` makes answers an SDK must
        reject (``wrong_key``, ``missing_sign``, ``altered_body``).
        """
        body: dict[str, Any] = {"seed": seed}
        if isinstance(latency_ms, tuple):
            body["latency_ms"] = {"min": latency_ms[0], "max": latency_ms[1]}
        elif latency_ms is not None:
            body["latency_ms"] = latency_ms
        if unknown_error_rate is not None:
            body["unknown_error_rate"] = unknown_error_rate
        if drop_connection_rate is not None:
            body["drop_connection_rate"] = drop_connection_rate
        if hostile is not None:
            body["hostile"] = {"mode": hostile}
            if hostile_rate is not None:
                body["hostile"]["rate"] = hostile_rate
        return self.call("PUT", "/__admin/faults", body, query={"app_id": app_id})

    def clear_faults(self, app_id: Optional[str] = None) -> None:
        """Removes the faults (of every app, or of ``app_id``)."""
        self.call("DELETE", "/__admin/faults", query={"app_id": app_id})

    # ------------------------------------------------------------------ journal
    def requests(
        self,
        *,
        method: Optional[str] = None,
        app_id: Optional[str] = None,
        outcome: Optional[str] = None,
        since: Union[str, datetime, None] = None,
        limit: Optional[int] = None,
    ) -> list[JournalEntry]:
        """The journal of gateway calls, oldest first, filtered.

        ``outcome`` matches an answer's ``code`` or ``sub_code``; ``since`` keeps calls at
        or after an instant; ``limit`` keeps the newest N.
        """
        if isinstance(since, datetime):
            since = _instant(since)
        query = {"method": method, "app_id": app_id, "outcome": outcome, "since": since, "limit": limit}
        answer = self.call("GET", "/__admin/requests", query=query)
        return [JournalEntry.from_json(e) for e in answer["requests"]]

    def clear_requests(self, app_id: Optional[str] = None) -> int:
        """Empties the journal (or one app's part); how many entries went."""
        return int(self.call("DELETE", "/__admin/requests", query={"app_id": app_id})["deleted"])

    # ------------------------------------------------------------------ any method
    def define_method(self, definition: Mapping[str, Any]) -> Mapping[str, Any]:
        """Stores or replaces what an OpenAPI method answers (a ``MethodDefinition``).

        ``definition["method"]`` names the method (``alipay.trade.query``); ``rules`` say
        what each ``biz_content`` gets. The definition as stored. Needs a gateway with
        method definitions (``/__admin/methods``).
        """
        name = definition.get("method")
        if not name:
            raise ValueError('define_method() needs the definition\'s "method"')
        return self.call("PUT", f"/__admin/methods/{_segment(str(name))}", dict(definition))

    def methods(self) -> list[Mapping[str, Any]]:
        """Every method definition in force."""
        return list(self.call("GET", "/__admin/methods"))

    def method_definition(self, method: str) -> Mapping[str, Any]:
        """One method definition."""
        return self.call("GET", f"/__admin/methods/{_segment(method)}")

    def delete_method(self, method: str) -> None:
        """Deletes a definition: the method answers ``40002 isv.invalid-method`` again."""
        self.call("DELETE", f"/__admin/methods/{_segment(method)}")

    # ------------------------------------------------------------------ notifications
    def notify(
        self,
        notify_url: str,
        params: Mapping[str, str],
        *,
        app_id: str = DEFAULT_APP_ID,
        sign_type: Optional[str] = None,
        charset: Optional[str] = None,
        delay_seconds: Optional[int] = None,
    ) -> Mapping[str, Any]:
        """Sends an asynchronous notification, signed for ``app_id``, to ``notify_url``.

        ``params`` are the business parameters (``notify_type``, ``out_trade_no``,
        ``trade_status``…); the gateway adds the common ones and the signature, and retries
        on Alipay's schedule until the handler answers ``success``. The notification as
        stored (its ``id``, ``state``…). Needs a gateway with notifications.
        """
        body: dict[str, Any] = {"app_id": app_id, "notify_url": notify_url, "params": dict(params)}
        for name, value in (("sign_type", sign_type), ("charset", charset), ("delay_seconds", delay_seconds)):
            if value is not None:
                body[name] = value
        return self.call("POST", "/__admin/notifications", body)

    def notifications(
        self, *, app_id: Optional[str] = None, state: Optional[str] = None
    ) -> list[Mapping[str, Any]]:
        """The notifications (of one app, in one state: ``pending``, ``delivered``, ``failed``)."""
        answer = self.call("GET", "/__admin/notifications", query={"app_id": app_id, "state": state})
        return list(answer["notifications"])

    def notification(self, notification_id: str) -> Mapping[str, Any]:
        """One notification with its body, sign content and attempts."""
        return self.call("GET", f"/__admin/notifications/{_segment(notification_id)}")

    def retry_notification(self, notification_id: str) -> Mapping[str, Any]:
        """Sends a notification now; the notification after the attempt."""
        return self.call("POST", f"/__admin/notifications/{_segment(notification_id)}/retry")

    def cancel_notification(self, notification_id: str) -> None:
        """Deletes a notification; a pending one is never sent."""
        self.call("DELETE", f"/__admin/notifications/{_segment(notification_id)}")

    # ------------------------------------------------------------------ reset
    def reset(self, app_id: Optional[str] = None) -> None:
        """Back to the fixtures: records, scenarios, faults, journal and clock (or one app's)."""
        self.call("POST", "/__admin/reset", query={"app_id": app_id})


class Clock:
    """The gateway's clock, which every time-based rule reads (the journal keeps real time)."""

    def __init__(self, admin: AdminClient) -> None:
        self._admin = admin

    def freeze(self, at: Union[datetime, str]) -> ClockState:
        """Time stands still at ``at`` (an aware datetime or an RFC 3339 string)."""
        text = _instant(at) if isinstance(at, datetime) else at
        return ClockState.from_json(self._admin.call("PUT", "/__admin/clock", {"frozen_at": text}))

    def offset(self, seconds: Union[int, timedelta]) -> ClockState:
        """Real time shifted by ``seconds`` (negative is the past)."""
        if isinstance(seconds, timedelta):
            seconds = int(seconds.total_seconds())
        return ClockState.from_json(self._admin.call("PUT", "/__admin/clock", {"offset_seconds": seconds}))

    def real(self) -> ClockState:
        """Back to real time."""
        return ClockState.from_json(self._admin.call("DELETE", "/__admin/clock"))

    def get(self) -> ClockState:
        """The gateway's now and how its clock runs."""
        return ClockState.from_json(self._admin.call("GET", "/__admin/clock"))


def _instant(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("give an aware datetime (with tzinfo): the gateway cannot guess the zone")
    return at.isoformat()


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")
