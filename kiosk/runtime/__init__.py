"""The running daemon's parts, each readable alone; kiosk.daemon composes them."""
