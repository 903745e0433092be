"""The back end (`kiosk-backend`): ingest sealed selfies from the bucket, watch the fleet."""
