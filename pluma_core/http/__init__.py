"""Outbound HTTP: pooled plain clients for configured upstreams."""
