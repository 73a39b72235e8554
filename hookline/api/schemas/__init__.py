"""Request and response bodies of the API, one module per resource (they make the
OpenAPI document); ``common`` holds the shared text and time types."""
