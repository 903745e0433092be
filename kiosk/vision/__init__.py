"""The vision pipeline: face detection, crops, models and quality measures."""
