"""Plumbing that belongs to no app: rate limits, keyset paging, set-wise inserts.

Nothing here imports the portal's apps; every layer may use it.
"""
