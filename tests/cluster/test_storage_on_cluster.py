"""The storage-layer tests, re-run unchanged against the 3-master cluster (see conftest.py):
services, library store, delivery (outbox, limiter, scheduler, workers), dispatcher state and
backup/restore, surveys, proposals (with WAITAOF on the owning node) and three `dvbot run`
workers on the cluster. A MULTI or script across two hash slots fails here with CrossSlot."""

from tests.broadcasts.test_service import *  # noqa: F403
from tests.delivery.test_outbox import *  # noqa: F403
from tests.delivery.test_ratelimit import *  # noqa: F403
from tests.delivery.test_schedule import *  # noqa: F403
from tests.delivery.test_worker import *  # noqa: F403
from tests.engine.test_dispatcher import *  # noqa: F403
from tests.handlers.test_tamtu import *  # noqa: F403
from tests.library.test_coverage import *  # noqa: F403
from tests.library.test_rollup import *  # noqa: F403
from tests.library.test_store import *  # noqa: F403
from tests.ops.test_backup import *  # noqa: F403
from tests.ops.test_inbox import *  # noqa: F403
from tests.ops.test_workers import *  # noqa: F403
from tests.org.test_access import *  # noqa: F403
from tests.org.test_invites import *  # noqa: F403
from tests.org.test_members import *  # noqa: F403
from tests.org.test_tree import *  # noqa: F403
from tests.proposals.test_crashes import *  # noqa: F403
from tests.proposals.test_durable import *  # noqa: F403
from tests.proposals.test_service import *  # noqa: F403
from tests.storage.test_atomic import *  # noqa: F403
from tests.storage.test_history import *  # noqa: F403
from tests.surveys.test_anonymity import *  # noqa: F403
from tests.surveys.test_kids import *  # noqa: F403
from tests.surveys.test_outputs import *  # noqa: F403
from tests.surveys.test_results import *  # noqa: F403
from tests.surveys.test_rollup import *  # noqa: F403
from tests.surveys.test_templates import *  # noqa: F403
from tests.tamtu.test_report import *  # noqa: F403

# SIGTERM handling does not depend on the store; the three-worker test above already runs
# `dvbot run` processes on the cluster (DVBOT_REDIS_URL=redis+cluster://…, see conftest.py).
del test_sigterm_finishes_updates_in_flight  # noqa: F821
# MONITOR watches one server; what a view reads does not depend on the store being a cluster.
del test_a_results_view_reads_the_unit_and_its_children_only  # noqa: F821
del test_a_hidden_units_children_are_never_read  # noqa: F821
del test_the_chat_shows_a_page_of_units_and_reads_whole_rows_for_it_only  # noqa: F821
del test_a_report_with_nothing_new_reads_two_versions  # noqa: F821
