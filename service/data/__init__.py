"""Data the service reads at run time, shipped inside the package and found through importlib.

- ``schema/snapshot.yaml``: Directus collections, fields and relations (taken from PostgreSQL);
- ``schema/access.yaml``: roles, policies, permissions, the service user, settings, staff Insights;
- ``events.json``: the one event map, read by the service and the aidj-events Directus extension;
- ``legal/``: the privacy policy and terms published by ``aidj directus publish-legal``.
"""
