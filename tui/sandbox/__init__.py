"""A faithful local Prisme.ai: real HTTP on loopback, real git, data on disk that survives restarts."""
