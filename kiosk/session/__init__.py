"""The session flow: a pure state machine driven by Observations and an injected clock."""
