"""Department systems reached over HTTP, by the protocol in docs/department-protocol.md."""

import json

import requests
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from departments.reports import CaseReportSerializer
from departments.signing import signed_headers

from .base import CaseOrder, CaseReport, Connector, PermanentError, TransientError, register


@register("http", _("部门业务系统对接"))
class HttpConnector(Connector):
    sends = True
    polls = True
    required_settings = ("base_url", "shared_secret")

    def send(self, order: CaseOrder) -> CaseReport:
        payload = {
            "idempotency_key": order.idempotency_key,
            "item_code": order.item_code,
            "item_name": order.item_name,
            "application_number": order.application_number,
            "applicant": order.applicant,
            "form": order.form,
            "inputs": order.inputs,
            "results": order.results,
            "callback_url": order.callback_url,
        }
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": order.idempotency_key,
            **signed_headers(order.secrets, body),
        }
        return self._report(
            self._call("POST", f"{order.base_url.rstrip('/')}/cases", body, headers)
        )

    def fetch(self, order: CaseOrder, case_ref: str) -> CaseReport:
        url = f"{order.base_url.rstrip('/')}/cases/{case_ref}"
        return self._report(self._call("GET", url, b"", signed_headers(order.secrets, b"")))

    def _call(self, method: str, url: str, body: bytes, headers: dict) -> dict:
        try:
            response = requests.request(
                method,
                url,
                data=body or None,
                headers=headers,
                timeout=settings.DEPARTMENT_HTTP_TIMEOUT,
            )
        except requests.RequestException as exc:
            raise TransientError(f"{method} {url}: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise TransientError(f"{method} {url}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise PermanentError(
                f"{method} {url}: HTTP {response.status_code}: {response.text[:500]}"
            )
        try:
            return response.json()
        except ValueError:
            raise TransientError(f"{method} {url}: answer is not JSON") from None

    @staticmethod
    def _report(data) -> CaseReport:
        serializer = CaseReportSerializer(data=data)
        if not serializer.is_valid():
            # A system that answers 200 with something else is broken for now, not for good:
            # the case may well exist, and the same key finds it on the next try.
            raise TransientError(
                f"unexpected answer from department system: {dict(serializer.errors)!r:.300}"
                f" in {data!r:.300}"
            )
        return serializer.report()
