"""MAAC's webhook topics: names, zones, ``data`` schemas, samples and descriptions."""

from hookline.catalog.topics import (
    TOPICS,
    Topic,
    get_topic,
    topics_in_zone,
    validate_data,
)
from hookline.domain.zones import ZONES

__all__ = ["TOPICS", "ZONES", "Topic", "get_topic", "topics_in_zone", "validate_data"]
