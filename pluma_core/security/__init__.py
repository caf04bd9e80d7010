"""The security layer: the middleware chain and the SSRF-guarded fetcher (default plugin ``security``)."""
