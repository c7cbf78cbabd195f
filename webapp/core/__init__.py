"""The platform layer every app stands on: errors, storage, ARNs, background work and status
transitions, validation, tables, expiring caches and rate limits. It imports no app."""
