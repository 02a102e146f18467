"""The security suite runs against the site on the real test stack, with the site tests' fixtures."""

from tests.site.conftest import (  # noqa: F401  (fixtures, registered here by import)
    client,
    dj_client,
    make_dj,
    run_jobs,
    site_app,
    site_redis,
)
