"""Flask blueprints: site pages, /hooks/*, /api/*."""
