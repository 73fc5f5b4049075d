"""Object storage (the Swift v1 API's data model): metadata in the database
(stratus/db/models/object_store.py), bytes in a :mod:`backend`.  The HTTP layer
is stratus/api/object_store/; stratus/transfer/ commits files via :mod:`ingest`.
See docs/design/object-storage.md."""
