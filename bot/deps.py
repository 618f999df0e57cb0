"""The services a flow may use, built once per process and passed to every handler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from redis.asyncio import Redis

from bot.broadcasts.service import BroadcastService
from bot.delivery.outbox import Outbox
from bot.delivery.reach import Reach
from bot.engine.conversation import ConversationStore
from bot.library.files import FileStore
from bot.library.store import LibraryStore
from bot.ops.audit import AuditLog
from bot.ops.metrics import Metrics
from bot.org.account_links import AccountLinks
from bot.org.invites import InviteStore
from bot.org.members import MemberStore
from bot.org.tree import UnitStore
from bot.privacy.seal import Sealer
from bot.privacy.secret import deployment_secret
from bot.proposals.durable import Durability
from bot.proposals.levels import parse_levels
from bot.proposals.queue import ReviewQueue
from bot.proposals.service import ProposalService
from bot.proposals.store import ProposalStore
from bot.proposals.year import DvkYear, load_config
from bot.settings import Settings
from bot.storage.history import AofRewrites
from bot.storage.keys import Keys
from bot.surveys.store import SurveyStore
from bot.tamtu.anonymity import Anonymity
from bot.tamtu.notify import Notifier
from bot.tamtu.service import Policy, TamtuService
from bot.tamtu.topics import load_topics


def utc_now() -> datetime:
    """Current time, timezone-aware."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Links:
    """Builds links members can tap; the Telegram username is known only with a token."""

    telegram_username: str | None = None

    def invite(self, code: str) -> str | None:
        """Deep link that opens the bot and sends `/start <code>`."""
        if not self.telegram_username:
            return None
        return f"https://t.me/{self.telegram_username}?start={code}"


@dataclass(frozen=True)
class Deps:
    """Frozen bundle of dependencies; no module globals anywhere."""

    settings: Settings
    redis: Redis
    keys: Keys
    units: UnitStore
    members: MemberStore
    invites: InviteStore
    conversations: ConversationStore
    audit: AuditLog
    links: Links
    library: LibraryStore  # directives, materials, acknowledgements, quizzes
    outbox: Outbox  # bulk delivery (broadcasts, notices)
    broadcasts: BroadcastService  # cadres' announcements
    proposals: ProposalService  # "Dân vận khéo" proposals and their review queues
    account_links: AccountLinks  # /lienket codes linking a Zalo and a Telegram account
    surveys: SurveyStore  # quick sentiment surveys (anonymous marks, tallies)
    sealer: Sealer  # seals state that ties a person to an anonymous answer, key not in Redis
    dvk: DvkYear  # the "Dân vận khéo" year: fields, criteria, registrations, replications
    tamtu: TamtuService  # "tâm tư, kiến nghị" threads, queues and reports
    rewrites: AofRewrites  # AOF rewrites after sensitive writes (surveys, tâm tư)
    clock: Callable[[], datetime] = utc_now
    metrics: Metrics = field(default_factory=Metrics)  # this process's /metrics


def build_deps(settings: Settings, redis: Redis, keys: Keys, links: Links) -> Deps:
    """Wire the stores to one Redis client and key namespace."""
    audit = AuditLog(redis, keys)
    secret = _deployment_secret(settings)
    sealer = Sealer(secret)
    reach = Reach(redis, keys, billed_allowed=settings.zalo_oa_billed, sealer=sealer)
    outbox = Outbox(redis, keys, sealer, reach)
    rewrites = AofRewrites(redis, keys)
    units, members = UnitStore(redis, keys), MemberStore(redis, keys)
    broadcasts = BroadcastService(redis, keys, units, members, outbox, audit,
                                  paid=settings.telegram_paid_rate > 0, reach=reach)
    return Deps(
        settings=settings, redis=redis, keys=keys,
        units=units, members=members,
        invites=InviteStore(redis, keys),
        conversations=ConversationStore(redis, keys, settings.dialog_ttl_hours * 3600,
                                        sealer),
        audit=audit, links=links, outbox=outbox, broadcasts=broadcasts,
        account_links=AccountLinks(redis, keys),
        library=LibraryStore(redis, keys, FileStore(settings.data_dir / "files")),
        proposals=build_proposals(settings, redis, keys),
        surveys=SurveyStore(redis, keys, secret, settings.survey_min_group),
        sealer=sealer,
        # A broken dan-van-kheo.yaml falls back to the default fields; `content check` says why.
        dvk=DvkYear(redis, keys, load_config(settings.content_path())[0]),
        tamtu=build_tamtu(settings, redis, keys, members, outbox, secret, rewrites),
        rewrites=rewrites,
    )


# --- proposals ----------------------------------------------------------------------
def build_proposals(settings: Settings, redis: Redis, keys: Keys) -> ProposalService:
    """The proposal workflow on this Redis."""
    return ProposalService(redis, ProposalStore(redis, keys), ReviewQueue(redis, keys),
                           Durability(redis), parse_levels(settings.proposal_levels),
                           claim_ms=int(settings.review_claim_minutes * 60_000))


# --- tâm tư, kiến nghị -----------------------------------------------------------------
def build_tamtu(settings: Settings, redis: Redis, keys: Keys, members: MemberStore,
                outbox: Outbox, secret: bytes, rewrites: AofRewrites) -> TamtuService:
    """Threads on this Redis, sealed with the deployment secret."""
    anonymity = Anonymity(Sealer(secret), secret)
    notifier = Notifier(redis, keys, members, outbox, anonymity, rewrites,
                        paid=settings.telegram_paid_rate > 0)
    policy = Policy(k=settings.survey_min_group, escalate_days=settings.tamtu_escalate_days,
                    daily_limit=settings.tamtu_daily_limit)
    return TamtuService(redis, keys, anonymity, notifier, load_topics(settings.content_path()),
                        policy)


# --- surveys ---
def _deployment_secret(settings: Settings) -> bytes:
    """The deployment secret kept outside Redis (configured, or a 0600 file in DATA_DIR)."""
    configured = settings.survey_secret.get_secret_value() if settings.survey_secret else None
    return deployment_secret(configured, settings.data_dir)
