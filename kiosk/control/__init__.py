"""The control socket (daemon side and client) and the SSH maintenance commands built on it."""
