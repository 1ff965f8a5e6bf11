"""Test material for the mail engine: a small world of people (world.py) and broken messages (broken/)."""
