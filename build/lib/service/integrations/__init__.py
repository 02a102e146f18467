"""Clients for the services the product talks to: Directus, Beatport, Paddle, mail."""
