"""Throttles on signing in, counted before any password is hashed or any code is sent: per client
address and per organisation (console passwords), per address (members' e-mailed codes, joining),
failures per address (an address that fails on many accounts is locked out, not just each account),
and unknown programs asked for under /m/<slug> per address (slugs are not for guessing)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from wafa.config import Settings
from wafa.trust.gate import rule_of
from wafa.trust.throttle import Throttle, Verdict


@dataclass(frozen=True, slots=True)
class SignInGuard:
    """The sign-in throttles of one server (settings WAFA_SIGNIN_*, WAFA_MEMBER_CODES_PER_IP)."""

    throttle: Throttle
    settings: Settings

    async def console(self, *, ip: str, organisation: str) -> Verdict | None:
        """Admit a console sign-in attempt (None), or the verdict that refuses it: the address failed
        too often, or tried too often, or the organisation is being tried too often."""
        failures = await self.locked_out(ip=ip)
        if failures is not None:
            return failures
        verdict = await self.throttle.hit(rule_of("sign-in", self.settings.signin_per_ip), "ip", ip)
        if not verdict.allowed:
            return verdict
        verdict = await self.throttle.hit(rule_of("sign-in-organisation", self.settings.signin_per_org), "org", organisation[:64])
        return None if verdict.allowed else verdict

    async def locked_out(self, *, ip: str) -> Verdict | None:
        """The verdict that locks this address out after too many failed sign-ins (None: it may try)."""
        return await self.throttle.peek(rule_of("sign-in-failures", self.settings.signin_failures_per_ip), "ip", ip)

    async def failed(self, *, ip: str) -> None:
        """Count a failed sign-in against the address."""
        await self.throttle.hit(rule_of("sign-in-failures", self.settings.signin_failures_per_ip), "ip", ip)

    async def member_code(self, *, ip: str) -> Verdict | None:
        """Admit asking for a member's sign-in code or joining from this address (None), or refuse."""
        verdict = await self.throttle.hit(rule_of("member-codes", self.settings.member_codes_per_ip), "ip", ip)
        return None if verdict.allowed else verdict

    async def unknown_program(self, *, ip: str) -> Verdict | None:
        """Count an address asking for a program that does not exist; the verdict once it asked too often."""
        verdict = await self.throttle.hit(rule_of("unknown-programs", self.settings.unknown_programs_per_ip), "ip", ip)
        return None if verdict.allowed else verdict

    async def unknown_programs_exceeded(self, *, ip: str) -> Verdict | None:
        """Whether the address asked for too many unknown programs already (then it learns nothing more)."""
        return await self.throttle.peek(rule_of("unknown-programs", self.settings.unknown_programs_per_ip), "ip", ip)


def guard(request: Request) -> SignInGuard:
    """The sign-in guard of the app serving `request`."""
    return SignInGuard(request.app.state.throttle, request.app.state.settings)


def client_ip(request: Request) -> str:
    """The client's address (behind a proxy, uvicorn takes it from X-Forwarded-For when the proxy is in
    FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else "unknown"
