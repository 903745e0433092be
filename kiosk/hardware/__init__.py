"""Hardware adapters (camera, LEDs, display, systemd) behind small interfaces, real and fake."""
