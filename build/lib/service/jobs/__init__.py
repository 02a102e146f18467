"""RQ job functions, one module per pipeline; each exposes ``run(item_id)``."""
