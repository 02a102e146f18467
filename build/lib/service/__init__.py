"""AIDJSets service: the site, the webhooks, the jobs and the DJ domain code."""
