"""Bridges: how events of a trio run reach a trio, asyncio or sync caller."""
