"""dvbot: the chatbot's core. Flows live in `handlers/`; this package holds everything else.

How a message becomes a reply: a channel adapter turns a platform update into a neutral
`Incoming`, the engine takes the account's lock, loads its dialog and routes it to a flow, the
flow calls services, and the replies go back through the same adapter.

The layout, one line per folder, from the bottom layer up. A module may import its own layer and
the ones listed before it, never one listed after it (`tests/test_quality.py` checks it):

    settings.py, formatting.py, wording.py   settings; text helpers; shared wording
    pydantic_vi.py      validation errors in Vietnamese (settings, units, content files)
    storage/            Redis connection, the embedded Valkey (policy, server process, presence,
                        plumbing), every key name (keys.py), atomic helpers
    engine/messages.py, engine/actions.py    the neutral vocabulary: Incoming, Reply, payloads
    org/models.py       units, members, grants, invites (pydantic models)
    privacy/            the deployment secret outside Redis; AES-GCM sealing of state at rest
      ---
    org/                the unit tree, members and roles, invites, account links, access rules
    library/            directives and study materials: catalog, search, coverage, notices
    surveys/            surveys: store, anonymous marks, results with suppression, exports
    proposals/          "Dân vận khéo" proposals: queue, review levels, gallery, exports
    broadcasts/         cadres' announcements: stored, fired, cancelled, reported
    tamtu/              "tâm tư, kiến nghị": threads, sealed senders, queues, reports
    delivery/           the outbox: delivery streams, rate limits, workers, the scheduler
    ops/                audit stream, logs, metrics, backup and restore
    engine/conversation.py   per-account dialog state, numbered options and the lock
      ---
    deps.py             the bundle of services a flow may use, built once per process
    engine/             router, dispatcher (lock → dialog → flow → save), error handling
    ../handlers/        the flows, one package per capability (account, library, surveys,
                        proposals, broadcasts, tamtu) and `shared` UI pieces
    channels/           Telegram, Zalo Bot Platform, Zalo OA, console; webhook server
    ops/web.py, demo.py the health/metrics endpoints; the demo organization
    app.py              the lifecycle: store, deps, channels, web server, background tasks
    cli/                every `dvbot` subcommand (run, console, worker, admin, content, backup)
"""
