"""The kiosk's error hierarchy: each class also inherits the builtin a caller would catch."""


class KioskError(Exception):
    """Base of every error the kiosk raises on purpose; its message is shown to maintainers."""


class ConfigError(KioskError, ValueError):
    """The configuration file or an override is invalid."""


class ModelError(KioskError, RuntimeError):
    """A model file is corrupt, does not match the manifest, or cannot run."""


class ModelMissingError(ModelError):
    """A model file listed in the manifest is not installed."""


class RuntimeMissingError(KioskError, ImportError):
    """No TFLite runtime is importable."""


class HardwareError(KioskError, OSError):
    """A hardware adapter failed (camera vanished, display could not open...)."""


class HardwareUnavailableError(KioskError, ImportError):
    """A real hardware adapter was asked for but its package is not installed."""


class NoDisplayError(HardwareUnavailableError):
    """There is no screen to draw on (SDL fell back to an invisible driver)."""


class CameraError(HardwareError):
    """The camera could not be opened or stopped delivering frames."""


class InputError(KioskError, ValueError):
    """An input file (image, video, directory) cannot be read."""


class StoreError(KioskError, OSError):
    """The capture store cannot write (disk full, missing key...)."""


class ControlError(KioskError, ConnectionError):
    """The maintenance CLI could not talk to the daemon over its control socket."""


class DaemonNotRunningError(ControlError):
    """No kiosk daemon is listening on the control socket."""


class StoreKeyError(StoreError):
    """The back end's public key file is missing or malformed: selfies cannot be encrypted."""


class StoreFullError(StoreError):
    """Free disk space is below the configured reserve."""


class SyncError(KioskError, OSError):
    """The sync process cannot upload (endpoint unreachable, bucket missing, bad response)."""


class SyncAuthError(SyncError):
    """The S3 endpoint rejected the credentials, or none were found."""


class PayloadError(KioskError, ValueError):
    """A sealed capture cannot be opened or does not match its record (quarantined, not retried)."""
