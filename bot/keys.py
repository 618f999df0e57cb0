"""Every Redis key dvbot uses is built here; `tests/test_keys.py` pins the exact strings.

Format: ``<prefix>:<...>``. Keys that belong to one entity carry a hash tag (``{m:42}``) so that
multi-key transactions and Lua scripts on that entity keep working on Redis/Valkey Cluster.
The prefix is ``dv`` for real data; the console demo uses ``dvdemo`` so the two never mix.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    """Key builder bound to one namespace prefix."""

    prefix: str = "dv"

    # --- organization -------------------------------------------------------------------------
    def units(self) -> str:
        """Hash: unit id -> Unit JSON (the whole tree is small: hundreds of units)."""
        return f"{self.prefix}:units"

    def units_version(self) -> str:
        """Counter bumped on every tree change, so workers know when to reload their copy."""
        return f"{self.prefix}:units:ver"

    def unit_members(self, unit_id: str) -> str:
        """Set of member ids whose home unit is this unit."""
        return f"{self.prefix}:{{unit:{unit_id}}}:members"

    def member_seq(self) -> str:
        """Counter handing out member ids."""
        return f"{self.prefix}:seq:member"

    def member(self, member_id: str) -> str:
        """String: Member JSON."""
        return f"{self.prefix}:{{m:{member_id}}}"

    def members_all(self) -> str:
        """Sorted set of every member id, scored by join time."""
        return f"{self.prefix}:members"

    def identity(self, channel: str, user_id: str) -> str:
        """String: member id of a platform account (telegram user id, zalo id, console user)."""
        return f"{self.prefix}:ident:{channel}:{user_id}"

    # --- invites ------------------------------------------------------------------------------
    def invite(self, code: str) -> str:
        """Hash: one invite (unit, role, uses, expiry, revoked)."""
        return f"{self.prefix}:{{inv:{code}}}"

    def invite_redeemers(self, code: str) -> str:
        """Set of accounts that redeemed the invite; same slot as the invite for the Lua script."""
        return f"{self.prefix}:{{inv:{code}}}:by"

    def invites(self) -> str:
        """Sorted set of invite codes by creation time, for listing."""
        return f"{self.prefix}:invites"

    # --- conversation state (one hash tag per account) ----------------------------------------
    def _account(self, channel: str, user_id: str) -> str:
        return f"{self.prefix}:{{u:{channel}:{user_id}}}"

    def dialog(self, channel: str, user_id: str) -> str:
        """String: the open dialog (flow, step, draft) of one account, with a TTL."""
        return f"{self._account(channel, user_id)}:dialog"

    def options(self, channel: str, user_id: str) -> str:
        """String: the numbered options last shown on a channel without buttons."""
        return f"{self._account(channel, user_id)}:opts"

    def lock(self, channel: str, user_id: str) -> str:
        """String: per-account lock so two updates of one person never interleave."""
        return f"{self._account(channel, user_id)}:lock"

    def seen_update(self, channel: str, update_id: str) -> str:
        """Marker that an update was taken, so a redelivered webhook is handled once."""
        return f"{self.prefix}:seen:{channel}:{update_id}"

    # --- audit --------------------------------------------------------------------------------
    def audit(self) -> str:
        """Stream of security-relevant actions (invites, roles, imports)."""
        return f"{self.prefix}:audit"
