"""Delivering a notice: webhook (JSON POST) or email (SMTP, STARTTLS and login optional)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

import aiohttp

from alerts.notice import Notice
from core.codec import dumps
from core.errors import SetupmonError
from core.settings import Settings

WEBHOOK_TIMEOUT_SECONDS = 10


class DeliveryFailed(SetupmonError):
    """A delivery did not go through; `retriable` tells whether another attempt may."""

    def __init__(self, reason: str, *, retriable: bool) -> None:
        super().__init__(reason)
        self.retriable = retriable


class Channels:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def deliver(self, notice: Notice) -> None:
        if notice.contact.channel == "webhook":
            await self._post(notice)
        elif notice.contact.channel == "email":
            await asyncio.to_thread(self._send_email, notice)
        else:
            raise DeliveryFailed(f"unknown channel {notice.contact.channel!r}", retriable=False)

    async def _post(self, notice: Notice) -> None:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT_SECONDS)
            self._session = aiohttp.ClientSession(timeout=timeout)
        body = dumps(
            {
                "delivery_id": notice.delivery_id,
                "kind": notice.kind.value,
                "subject": notice.subject,
                "text": notice.text,
                "alerts": [alert.to_json() for alert in notice.alerts],
            }
        )
        headers = {"Content-Type": "application/json", "Idempotency-Key": notice.delivery_id}
        try:
            async with self._session.post(
                notice.contact.address, data=body, headers=headers
            ) as response:
                if 200 <= response.status < 300:
                    return
                retriable = response.status >= 500 or response.status in (408, 429)
                raise DeliveryFailed(
                    f"webhook answered HTTP {response.status}", retriable=retriable
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryFailed(f"webhook unreachable: {exc!r}", retriable=True) from exc

    def _send_email(self, notice: Notice) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = notice.contact.address
        message["Subject"] = notice.subject
        # The same Message-ID on every attempt, so a mail system can drop a repeat.
        message["Message-ID"] = f"<{notice.delivery_id}@setupmon>"
        message.set_content(notice.text)
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30) as smtp:
                if s.smtp_starttls:
                    context = ssl.create_default_context(cafile=s.smtp_cafile or None)
                    smtp.starttls(context=context)
                if s.smtp_username:
                    smtp.login(s.smtp_username, s.smtp_password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(f"recipient refused: {exc.recipients}", retriable=False) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryFailed(f"SMTP login refused: {exc.smtp_code}", retriable=False) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP failed: {exc!r}", retriable=True) from exc
