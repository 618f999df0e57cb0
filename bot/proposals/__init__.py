"""Proposals "Dân vận khéo": models, store, review queue on Redis Streams, levels,
durability (WAITAOF), photos, gallery and export."""
