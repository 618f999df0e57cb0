"""The storage-layer tests, re-run unchanged against the 3-master cluster (see conftest.py):
services, library store, delivery (outbox, limiter, scheduler, workers), dispatcher state and
backup/restore. A MULTI or script across two hash slots fails here with CrossSlot."""

from tests.delivery.test_outbox import *  # noqa: F403
from tests.delivery.test_ratelimit import *  # noqa: F403
from tests.delivery.test_schedule import *  # noqa: F403
from tests.delivery.test_worker import *  # noqa: F403
from tests.library.test_coverage import *  # noqa: F403
from tests.library.test_store import *  # noqa: F403
from tests.ops.test_backup import *  # noqa: F403
from tests.services.test_access import *  # noqa: F403
from tests.services.test_broadcasts import *  # noqa: F403
from tests.services.test_invites import *  # noqa: F403
from tests.services.test_members import *  # noqa: F403
from tests.services.test_org import *  # noqa: F403
from tests.storage.test_atomic import *  # noqa: F403
from tests.test_dispatcher import *  # noqa: F403

# These open a second, single-server client on the session's plain Valkey URL to play
# "another process": that client cannot follow the cluster, so they stay single-server only.
del test_a_429_pauses_every_limiter_of_the_token  # noqa: F821
del test_export_pauses_writers_for_a_consistent_point_in_time  # noqa: F821
del test_cli_backup_and_restore  # noqa: F821
