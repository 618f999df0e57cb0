"""Proposals "Dân vận khéo" (issue 5): models, store, review queue on Redis Streams, levels,
durability (WAITAOF), photos, gallery and export."""
