"""The runtime: Flask app factory, record store, identity, API, UI, CLI, jobs.

Dependencies point one way: builder → runtime → apps → engines → schemas.
"""
