"""Outbound delivery shared by every feature that messages many members at once.

A job (one broadcast, one directive notice...) is expanded into a Redis Stream of deliveries per
channel; sender workers in any number of processes consume it through a consumer group, under
one rate limiter kept in Redis per bot token. See outbox.py, worker.py, ratelimit.py, schedule.py.
"""
