"""Operations: logs, metrics, the health endpoints, the audit stream, backup and restore."""
