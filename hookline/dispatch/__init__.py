"""Delivery of webhook events: sending attempts to receivers."""
