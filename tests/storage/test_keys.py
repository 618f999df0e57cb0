"""Pins every Redis key string: renaming one silently orphans production data."""

from __future__ import annotations

from bot.storage.keys import Keys


def test_key_strings_are_pinned() -> None:
    k = Keys()
    assert k.units() == "dv:units"
    assert k.units_version() == "dv:units:ver"
    assert k.unit_members("cb-a1") == "dv:{unit:cb-a1}:members"
    assert k.member_seq() == "dv:seq:member"
    assert k.member("42") == "dv:{m:42}"
    assert k.members_all() == "dv:members"
    assert k.identity("telegram", "123") == "dv:ident:telegram:123"
    assert k.invite("ABCDEFGHJK") == "dv:{inv:ABCDEFGHJK}"
    assert k.invite_redeemers("ABCDEFGHJK") == "dv:{inv:ABCDEFGHJK}:by"
    assert k.invites() == "dv:invites"
    assert k.dialog("telegram", "123") == "dv:{u:telegram:123}:dialog"
    assert k.options("console", "local") == "dv:{u:console:local}:opts"
    assert k.lock("telegram", "123") == "dv:{u:telegram:123}:lock"
    assert k.seen_update("telegram", "99") == "dv:seen:telegram:99"
    assert k.code_guesses("zalo", "7") == "dv:{u:zalo:7}:guesses"
    assert k.audit() == "dv:audit"
    assert k.web_link("ab12") == "dv:web:link:ab12"
    assert k.web_session("cd34") == "dv:web:sess:cd34"


def test_proposal_keys_are_pinned() -> None:  # issue 5
    k = Keys()
    assert k.proposal_seq(2026) == "dv:seq:dvk:2026"
    assert k.proposal("DVK-2026-00042") == "dv:{dvk:DVK-2026-00042}"
    assert k.proposal_history("DVK-2026-00042") == "dv:{dvk:DVK-2026-00042}:log"
    assert k.proposals_all() == "dv:dvk:all"
    assert k.proposals_gallery() == "dv:dvk:gallery"
    assert k.proposals_by("7") == "dv:{m:7}:dvk"
    assert k.proposal_draft("7") == "dv:{m:7}:dvk:draft"
    assert k.proposal_sent("7", "ab12") == "dv:{m:7}:dvk:sent:ab12"
    assert k.review_queue("dbcs-a") == "dv:{rq:dbcs-a}"
    assert k.dvk_registrations(2026) == "dv:{dvkreg:2026}"
    assert k.dvk_replicas("DVK-2026-00042") == "dv:{dvk:DVK-2026-00042}:replicas"


def test_demo_namespace_never_overlaps_real_keys() -> None:
    real, demo = Keys("dv"), Keys("dvdemo")
    assert demo.member("1") == "dvdemo:{m:1}"
    assert not demo.member("1").startswith("dv:")
    assert real.units() != demo.units()


def test_keys_of_one_entity_share_a_cluster_slot() -> None:
    """Multi-key scripts (invite redemption, account state) must stay in one hash slot."""
    k = Keys()

    def tag(key: str) -> str:
        return key[key.index("{") + 1:key.index("}")]

    assert tag(k.invite("X")) == tag(k.invite_redeemers("X"))
    assert tag(k.dialog("t", "1")) == tag(k.options("t", "1")) == tag(k.lock("t", "1"))


# --- library: directives and study materials (issue 3) -------------------------------------------
def test_library_keys_are_pinned() -> None:
    k = Keys()
    assert k.library_catalog() == "dv:{lib}:catalog"
    assert k.library_version() == "dv:{lib}:ver"
    assert k.document("25-nq-tw") == "dv:{doc:25-nq-tw}"
    assert k.document_acks("25-nq-tw") == "dv:{doc:25-nq-tw}:acks"
    assert k.document_ack_units("25-nq-tw") == "dv:{doc:25-nq-tw}:ackunits"
    assert k.document_reminder("25-nq-tw", "cb-a1") == "dv:{doc:25-nq-tw}:remind:cb-a1"
    assert k.member_acks("42") == "dv:{m:42}:acks"
    assert k.member_quiz("42") == "dv:{m:42}:quiz"


def test_library_keys_that_change_together_share_a_slot() -> None:
    """The ack script touches a document's set and counter; the catalog and its version move in
    one MULTI; a member's own lists live beside the member."""
    k = Keys()

    def tag(key: str) -> str:
        return key[key.index("{") + 1:key.index("}")]

    assert tag(k.document_acks("x")) == tag(k.document_ack_units("x")) == tag(k.document("x"))
    assert tag(k.document_reminder("x", "u")) == tag(k.document("x"))
    assert tag(k.library_catalog()) == tag(k.library_version())
    assert tag(k.member_acks("7")) == tag(k.member_quiz("7")) == tag(k.member("7"))


# --- delivery and broadcasts (issue 6) -----------------------------------------------------------
def test_delivery_and_broadcast_keys_are_pinned() -> None:
    k = Keys()
    assert k.job("bc-7") == "dv:{job:bc-7}"
    assert k.job_queue("bc-7", "telegram") == "dv:{job:bc-7}:q:telegram"
    assert k.job_retry("bc-7", "telegram") == "dv:{job:bc-7}:retry:telegram"
    assert k.job_recipients("bc-7") == "dv:{job:bc-7}:rcpt"
    assert k.job_sent("bc-7") == "dv:{job:bc-7}:sent"
    assert k.job_parts("bc-7") == "dv:{job:bc-7}:parts"
    assert k.job_failed("bc-7") == "dv:{job:bc-7}:fail"
    assert k.job_confirmed("bc-7") == "dv:{job:bc-7}:ack"
    assert k.job_stats("bc-7") == "dv:{job:bc-7}:stats"
    assert k.jobs_active("telegram") == "dv:outbox:active:telegram"
    assert k.jobs_due() == "dv:{sched}:due"
    assert k.jobs_firing() == "dv:{sched}:firing"
    assert k.unreachable() == "dv:unreachable"
    assert k.rate("telegram:123", "all") == "dv:{rl:telegram:123}:all"
    assert k.rate("telegram:123", "chat:42") == "dv:{rl:telegram:123}:chat:42"
    assert k.broadcast_seq() == "dv:seq:bc"
    assert k.broadcast("7") == "dv:{bc:7}"
    assert k.broadcasts_by("42") == "dv:{m:42}:bc"


def test_delivery_keys_used_by_one_script_share_a_slot() -> None:
    """Every outbox script works on one job's keys; the limiter script on one token's keys;
    the schedule script moves ids between the due and firing sets."""
    k = Keys()

    def tag(key: str) -> str:
        return key[key.index("{") + 1:key.index("}")]

    job = {tag(key) for key in (k.job("x"), k.job_queue("x", "t"), k.job_retry("x", "t"),
                                k.job_recipients("x"), k.job_sent("x"), k.job_parts("x"),
                                k.job_failed("x"), k.job_confirmed("x"), k.job_stats("x"))}
    assert job == {"job:x"}
    assert {tag(k.rate("t:1", n)) for n in ("all", "paid", "pause", "chat:9")} == {"rl:t:1"}
    assert tag(k.jobs_due()) == tag(k.jobs_firing())


# --- Zalo (issue 7) ----------------------------------------------------------------------------
def test_zalo_keys_are_pinned() -> None:
    k = Keys()
    assert k.zalo_oa_tokens("123") == "dv:{zoa:123}:tokens"
    assert k.zalo_oa_refresh_lock("123") == "dv:{zoa:123}:refresh"
    assert k.link_code("AB23CD45") == "dv:{link:AB23CD45}"
    assert k.seen_update("zalo", "m1") == "dv:seen:zalo:m1"
    assert k.rate("zalo:99", "all") == "dv:{rl:zalo:99}:all"
    assert k.zalo_oa_token_trouble("123") == "dv:{zoa:123}:trouble"
    assert k.last_interaction("zalo_oa") == "dv:{seen:zalo_oa}:last"
    assert k.channel_quota("zalo") == "dv:quota:zalo"
    assert k.pending_notices("42") == "dv:{m:42}:pending"
    assert k.pending_offer("42") == "dv:{m:42}:pending:offer"


def test_zalo_token_keys_share_a_slot() -> None:
    """The refresh lock and the token pair are used together while refreshing."""
    k = Keys()
    assert k.zalo_oa_tokens("1").split("}")[0] == k.zalo_oa_refresh_lock("1").split("}")[0]


# --- surveys (issue 4) ---------------------------------------------------------------------
def test_survey_keys_are_pinned_and_share_one_slot() -> None:
    """The answer script touches the audience, marks, tally, texts and named answers at once."""
    k = Keys()
    assert k.survey_seq() == "dv:seq:sv"
    assert k.surveys() == "dv:surveys"
    assert k.survey("7") == "dv:{sv:7}"
    assert k.survey_salt("7") == "dv:{sv:7}:salt"
    assert k.survey_audience("7") == "dv:{sv:7}:aud"
    assert k.survey_done("7") == "dv:{sv:7}:done"
    assert k.survey_tally("7") == "dv:{sv:7}:tally"
    assert k.survey_texts("7") == "dv:{sv:7}:texts"
    assert k.survey_named("7") == "dv:{sv:7}:named"
    assert k.survey_reminder("7") == "dv:{sv:7}:remind"
    assert k.survey_pending("7", "cb-a1") == "dv:{sv:7}:pending:cb-a1"
    assert k.survey_author("7") == "dv:svauthor:7"
    assert k.survey_row("7", "cb-a1") == "dv:{sv:7}:row:cb-a1"
    assert k.survey_shape("7") == "dv:{sv:7}:shape"
    assert k.survey_kids("7", "db-a") == "dv:{sv:7}:kids:db-a"
    tags = {key[key.index("{") + 1:key.index("}")] for key in (
        k.survey("7"), k.survey_salt("7"), k.survey_audience("7"), k.survey_done("7"),
        k.survey_tally("7"), k.survey_texts("7"), k.survey_named("7"), k.survey_reminder("7"),
        k.survey_pending("7", "cb-a1"), k.survey_row("7", "cb-a1"), k.survey_shape("7"),
        k.survey_kids("7", "db-a"))}
    assert tags == {"sv:7"}


# --- operations (issue 8) ----------------------------------------------------------------------
def test_inbox_keys_share_the_account_slot() -> None:
    k = Keys()
    assert k.inbox("telegram", "123") == "dv:{u:telegram:123}:inbox"
    assert k.inbox_lock("telegram", "123") == "dv:{u:telegram:123}:drain"
    assert k.inboxes("telegram") == "dv:inboxes:telegram"


def test_tamtu_keys_are_pinned_and_name_no_member() -> None:
    k = Keys()
    assert k.tamtu_seq() == "dv:seq:tt"
    assert k.tamtu("TT-7KQ2MX") == "dv:{tt:TT-7KQ2MX}"
    assert k.tamtu_queue("cb-a1") == "dv:{ttq:cb-a1}"
    assert k.tamtu_stats("2026-11") == "dv:{ttst:2026-11}"
    assert k.tamtu_mine("ab12") == "dv:{ttm:ab12}"
    assert k.tamtu_quota("ab12") == "dv:ttrl:ab12"
