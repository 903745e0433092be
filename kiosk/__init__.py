"""Selfie kiosk: blink liveness, named occlusion checks and an encrypted selfie store."""

from pathlib import Path

__version__ = "0.1.0"

# The repository's models/ folder; installs point KIOSK_MODELS_DIR or [models] dir elsewhere.
DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
