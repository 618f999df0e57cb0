"""Every Redis key dvbot uses is built here; `tests/storage/test_keys.py` pins the exact strings.

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

    def code_guesses(self, channel: str, user_id: str) -> str:
        """Counter of wrong invite/link codes an account typed this minute (with a TTL)."""
        return f"{self._account(channel, user_id)}:guesses"

    def seen_update(self, channel: str, update_id: str) -> str:
        """Marker that an update was taken, so a redelivered webhook is handled once."""
        return f"{self.prefix}:seen:{channel}:{update_id}"

    # --- web dashboard ------------------------------------------------------------------------
    def web_link(self, token_hash: str) -> str:
        """String with a TTL: member id of a one-time sign-in link (by SHA-256 of its token)."""
        return f"{self.prefix}:web:link:{token_hash}"

    def web_session(self, session_hash: str) -> str:
        """String with an idle TTL: a dashboard session (by SHA-256 of its cookie)."""
        return f"{self.prefix}:web:sess:{session_hash}"

    # --- audit --------------------------------------------------------------------------------
    def audit(self) -> str:
        """Stream of security-relevant actions (invites, roles, imports)."""
        return f"{self.prefix}:audit"

    # --- library: directives and study materials -----------------------------------
    def library_catalog(self) -> str:
        """Hash: document id -> catalog Entry JSON (small; every worker keeps a snapshot)."""
        return f"{self.prefix}:{{lib}}:catalog"

    def library_version(self) -> str:
        """Counter bumped with every catalog change, in the catalog's slot (one MULTI)."""
        return f"{self.prefix}:{{lib}}:ver"

    def document(self, doc_id: str) -> str:
        """String: the stored document Record JSON (summary, key points, body, quiz)."""
        return f"{self.prefix}:{{doc:{doc_id}}}"

    def document_acks(self, doc_id: str) -> str:
        """Set of member ids who acknowledged ("Đã nghiên cứu") the document."""
        return f"{self.prefix}:{{doc:{doc_id}}}:acks"

    def document_ack_units(self, doc_id: str) -> str:
        """Hash: home unit id -> how many of its members acknowledged (for coverage reports)."""
        return f"{self.prefix}:{{doc:{doc_id}}}:ackunits"

    def document_reminder(self, doc_id: str, unit_id: str) -> str:
        """String with a TTL: when the last "nhắc nhở" about the document went to a unit's
        subtree (epoch seconds); while it lives, another press sends nothing."""
        return f"{self.prefix}:{{doc:{doc_id}}}:remind:{unit_id}"

    def member_acks(self, member_id: str) -> str:
        """Set of document ids the member acknowledged (their own progress)."""
        return f"{self.prefix}:{{m:{member_id}}}:acks"

    def member_quiz(self, member_id: str) -> str:
        """Sorted set: material id -> the member's best quiz score (ZADD GT keeps the best)."""
        return f"{self.prefix}:{{m:{member_id}}}:quiz"

    # --- delivery: outbox jobs, schedule, rate limits --------------------------------
    def job(self, job_id: str) -> str:
        """Hash: one outbox job's metadata (messages JSON, state, channels, lane)."""
        return f"{self.prefix}:{{job:{job_id}}}"

    def job_queue(self, job_id: str, channel: str) -> str:
        """Stream of the job's pending deliveries on one channel (consumer group "send")."""
        return f"{self.prefix}:{{job:{job_id}}}:q:{channel}"

    def job_retry(self, job_id: str, channel: str) -> str:
        """Sorted set: deliveries waiting for a backoff to pass, scored by when to retry."""
        return f"{self.prefix}:{{job:{job_id}}}:retry:{channel}"

    def job_recipients(self, job_id: str) -> str:
        """Hash: member id -> report group (child unit) of everyone the job is addressed to."""
        return f"{self.prefix}:{{job:{job_id}}}:rcpt"

    def job_sent(self, job_id: str) -> str:
        """Set of member ids that got every part: guards against a second send after a crash."""
        return f"{self.prefix}:{{job:{job_id}}}:sent"

    def job_parts(self, job_id: str) -> str:
        """Hash: member id -> parts already sent, for multi-part messages cut by a crash."""
        return f"{self.prefix}:{{job:{job_id}}}:parts"

    def job_failed(self, job_id: str) -> str:
        """Hash: member id -> final failure reason (blocked, deactivated, chat not found...)."""
        return f"{self.prefix}:{{job:{job_id}}}:fail"

    def job_confirmed(self, job_id: str) -> str:
        """Set of member ids who pressed "Đã nhận"."""
        return f"{self.prefix}:{{job:{job_id}}}:ack"

    def job_stats(self, job_id: str) -> str:
        """Hash of counters: total/sent/failed/blocked/confirmed, overall and `<name>:<group>`."""
        return f"{self.prefix}:{{job:{job_id}}}:stats"

    def jobs_active(self, channel: str) -> str:
        """Sorted set of job ids with deliveries on `channel`, scored by activation time."""
        return f"{self.prefix}:outbox:active:{channel}"

    def jobs_due(self) -> str:
        """Sorted set: job id -> epoch seconds when it must fire (scheduled sends)."""
        return f"{self.prefix}:{{sched}}:due"

    def jobs_firing(self) -> str:
        """Sorted set: job id -> lease end; a job whose firing process died is fired again.

        Same slot as `jobs_due`: one script moves due jobs here atomically."""
        return f"{self.prefix}:{{sched}}:firing"

    def unreachable(self) -> str:
        """Hash: member id -> "<channel>:<reason>" for members the bot can no longer reach."""
        return f"{self.prefix}:unreachable"

    def rate(self, limiter: str, name: str) -> str:
        """Rate-limiter state of one bot token (`limiter`, e.g. "telegram:123"): one slot."""
        return f"{self.prefix}:{{rl:{limiter}}}:{name}"

    # --- broadcasts ------------------------------------------------------------------
    def broadcast_seq(self) -> str:
        """Counter handing out broadcast numbers."""
        return f"{self.prefix}:seq:bc"

    def broadcast(self, broadcast_id: str) -> str:
        """String: Broadcast JSON (content, audience, schedule, author)."""
        return f"{self.prefix}:{{bc:{broadcast_id}}}"

    def broadcasts_by(self, member_id: str) -> str:
        """Sorted set of broadcast ids a member created, scored by creation time."""
        return f"{self.prefix}:{{m:{member_id}}}:bc"

    # --- proposals "Dân vận khéo" and their review queues ----------------------------
    def proposal_seq(self, year: int) -> str:
        """Counter of one year's reference codes (DVK-<year>-<n>)."""
        return f"{self.prefix}:seq:dvk:{year}"

    def proposal(self, code: str) -> str:
        """String: Proposal JSON (content, state, level, version), the transitions' one truth."""
        return f"{self.prefix}:{{dvk:{code}}}"

    def proposal_history(self, code: str) -> str:
        """List of transition Events (append-only); same slot as the proposal for one MULTI."""
        return f"{self.prefix}:{{dvk:{code}}}:log"

    def proposals_all(self) -> str:
        """Sorted set: every reference code, scored by first submission (exports)."""
        return f"{self.prefix}:dvk:all"

    def proposals_gallery(self) -> str:
        """Sorted set: recognised proposals, scored by recognition time (the gallery)."""
        return f"{self.prefix}:dvk:gallery"

    def proposals_by(self, member_id: str) -> str:
        """Sorted set of the reference codes a member submitted ("Đề xuất của tôi")."""
        return f"{self.prefix}:{{m:{member_id}}}:dvk"

    def proposal_draft(self, member_id: str) -> str:
        """String with a TTL: the member's unsent proposal form, kept across restarts."""
        return f"{self.prefix}:{{m:{member_id}}}:dvk:draft"

    def proposal_sent(self, member_id: str, draft_id: str) -> str:
        """String with a TTL: the code a member's draft was sent as (idempotent «Gửi»)."""
        return f"{self.prefix}:{{m:{member_id}}}:dvk:sent:{draft_id}"

    def dvk_registrations(self, year: int) -> str:
        """Hash: registration id -> Registration JSON, the models units registered that year."""
        return f"{self.prefix}:{{dvkreg:{year}}}"

    def dvk_replicas(self, code: str) -> str:
        """Hash: unit id -> Replica JSON, units replicating a recognised model (its hash tag)."""
        return f"{self.prefix}:{{dvk:{code}}}:replicas"

    def review_queue(self, unit_id: str) -> str:
        """Stream of proposals waiting for review at one reviewing unit (group "review")."""
        return f"{self.prefix}:{{rq:{unit_id}}}"

    # --- Zalo ------------------------------------------------------------------------
    def zalo_oa_tokens(self, app_id: str) -> str:
        """String: the OA's current access + refresh token JSON (the refresh token rotates)."""
        return f"{self.prefix}:{{zoa:{app_id}}}:tokens"

    def zalo_oa_refresh_lock(self, app_id: str) -> str:
        """String with a TTL: held by the one process refreshing the OA's tokens."""
        return f"{self.prefix}:{{zoa:{app_id}}}:refresh"

    def zalo_oa_token_trouble(self, app_id: str) -> str:
        """String: why the OA's tokens could not be refreshed for good (JSON), until fixed."""
        return f"{self.prefix}:{{zoa:{app_id}}}:trouble"

    def last_interaction(self, channel: str) -> str:
        """Sorted set: account id on `channel` -> epoch seconds of its last message to us
        (Zalo OA replies are free only within 48 h of it); on Telegram, recorded by the
        engine, a keyed pseudonym of the account -> the hour (bot.delivery.seen)."""
        return f"{self.prefix}:{{seen:{channel}}}:last"

    def channel_quota(self, channel: str) -> str:
        """String with an expiry at the next month: the channel used up its monthly quota."""
        return f"{self.prefix}:quota:{channel}"

    def pending_notices(self, member_id: str) -> str:
        """Sorted set: outbox job ids the member could not be sent, by time (offered when the
        member next writes)."""
        return f"{self.prefix}:{{m:{member_id}}}:pending"

    def pending_offer(self, member_id: str) -> str:
        """String with a TTL: epoch seconds from which the member, when they next write, is
        offered their missed notices (read with the account's lock, bot.delivery.missed)."""
        return f"{self.prefix}:{{m:{member_id}}}:pending:offer"

    # --- account linking, /lienket ---------------------------------------------------
    def link_code(self, code: str) -> str:
        """String with a short TTL: member id behind a one-time account-linking code."""
        return f"{self.prefix}:{{link:{code}}}"

    # --- surveys ---------------------------------------------------------------------
    # Every key of one survey shares the tag {sv:<id>}, so recording an answer (one Lua script
    # over the audience, done marks, tally and texts) stays in one Cluster slot.
    def survey_seq(self) -> str:
        """Counter handing out survey numbers."""
        return f"{self.prefix}:seq:sv"

    def surveys(self) -> str:
        """Sorted set of survey ids scored by closing time (lists, "Khảo sát của tôi")."""
        return f"{self.prefix}:surveys"

    def survey(self, survey_id: str) -> str:
        """String: Survey JSON (questions, audience unit, times, policy)."""
        return f"{self.prefix}:{{sv:{survey_id}}}"

    def survey_salt(self, survey_id: str) -> str:
        """String: the survey's random salt for answered-marks; deleted when it closes."""
        return f"{self.prefix}:{{sv:{survey_id}}}:salt"

    def survey_audience(self, survey_id: str) -> str:
        """Hash: audience snapshot, mark (anonymous) or member id (named) -> recording unit."""
        return f"{self.prefix}:{{sv:{survey_id}}}:aud"

    def survey_done(self, survey_id: str) -> str:
        """Set of marks (anonymous) or member ids (named) that have answered."""
        return f"{self.prefix}:{{sv:{survey_id}}}:done"

    def survey_tally(self, survey_id: str) -> str:
        """Hash of counters: `a|<unit>` audience, `n|<unit>` answers, `<unit>|<q>|<opt>`."""
        return f"{self.prefix}:{{sv:{survey_id}}}:tally"

    def survey_texts(self, survey_id: str) -> str:
        """Sorted set of free-text answers, score = question + a random fraction (no order)."""
        return f"{self.prefix}:{{sv:{survey_id}}}:texts"

    def survey_named(self, survey_id: str) -> str:
        """Hash: member id -> their answers, for named surveys only."""
        return f"{self.prefix}:{{sv:{survey_id}}}:named"

    def survey_pending(self, survey_id: str, unit: str) -> str:
        """List of sealed anonymous answer sets of one recording unit, waiting until k of
        them can be counted together."""
        return f"{self.prefix}:{{sv:{survey_id}}}:pending:{unit}"

    def survey_row(self, survey_id: str, unit: str) -> str:
        """Hash: counters of one unit's whole subtree, rolled up when counted: `a` audience,
        `n` answers, `<q>|<opt>`; results read the survey unit's row and its children's."""
        return f"{self.prefix}:{{sv:{survey_id}}}:row:{unit}"

    def survey_kids(self, survey_id: str, unit: str) -> str:
        """Hash: one unit's children at a glance, `a|<child>` audience (set at opening) and
        `n|<child>` answers (counted with the rows), so a view weighs every sibling for
        suppression in one read instead of one row per child."""
        return f"{self.prefix}:{{sv:{survey_id}}}:kids:{unit}"

    def survey_shape(self, survey_id: str) -> str:
        """Hash: the units snapshot taken at opening, `u|<unit>` -> the rows a count under
        that unit goes into (itself up to the survey's unit), `c|<unit>` -> its children with
        an audience; `settled` once the last answers were counted after closing."""
        return f"{self.prefix}:{{sv:{survey_id}}}:shape"

    def survey_reminder(self, survey_id: str) -> str:
        """String with a TTL: start of the last reminder window (epoch seconds)."""
        return f"{self.prefix}:{{sv:{survey_id}}}:remind"

    def survey_author(self, survey_id: str) -> str:
        """String: the author's member id until the closing notice; outside the survey's tag
        on purpose (nothing in the survey's own keys names a member)."""
        return f"{self.prefix}:svauthor:{survey_id}"

    # --- operations: per-account order of webhook updates across workers ----------
    def inbox(self, channel: str, user_id: str) -> str:
        """Sorted set: raw updates of one account accepted by any worker, scored by update_id,
        drained in that order (same slot as the account's dialog and lock)."""
        return f"{self._account(channel, user_id)}:inbox"

    def inbox_lock(self, channel: str, user_id: str) -> str:
        """String: held by the one worker draining the account's inbox (a lease)."""
        return f"{self._account(channel, user_id)}:drain"

    def inboxes(self, channel: str) -> str:
        """Sorted set: user ids whose inbox is not empty, scored by when it last became so
        (the sweeper drains those a killed worker left behind; its own slot, written apart)."""
        return f"{self.prefix}:inboxes:{channel}"

    # --- tâm tư, kiến nghị -------------------------------------------------------------
    # Nothing here names a member: a thread's sender is sealed inside its value, a member's
    # own list and daily count sit under an HMAC of the member id keyed from the deployment
    # secret (not in Redis), so a copy of the store alone cannot tell whose they are.
    def tamtu_seq(self) -> str:
        """Counter giving each thread its place in the queues (oldest first, no time)."""
        return f"{self.prefix}:seq:tt"

    def tamtu(self, code: str) -> str:
        """String: one thread (Thread JSON: topic, unit, posts, state; the sender sealed)."""
        return f"{self.prefix}:{{tt:{code}}}"

    def tamtu_queue(self, unit_id: str) -> str:
        """Sorted set: codes of the threads waiting for an answer at one unit, by arrival."""
        return f"{self.prefix}:{{ttq:{unit_id}}}"

    def tamtu_stats(self, month: str) -> str:
        """Hash of one month's counters (`<unit>|<topic>|<anonymous>|<metric>`), YYYY-MM."""
        return f"{self.prefix}:{{ttst:{month}}}"

    def tamtu_mine(self, tag: str) -> str:
        """String: a member's thread codes, sealed; `tag` is the member's keyed HMAC."""
        return f"{self.prefix}:{{ttm:{tag}}}"

    def tamtu_quota(self, tag: str) -> str:
        """Counter with a TTL: new threads of one member on one day (`tag`: keyed HMAC)."""
        return f"{self.prefix}:ttrl:{tag}"

