"""Plain objects and rules of hookline, free of web and SQL details."""
