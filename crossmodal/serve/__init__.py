"""`crossmodal serve`: one long-running process answers a store's searches over HTTP.

Models and indexes load once; a cron `update` that publishes a new index generation is picked up
between requests (live.py). The JSON API mirrors the CLI contract (api.py), a page for people
ships as plain files (static/), and everything is local by default (guard.py).
"""
