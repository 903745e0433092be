"""Upload of encrypted captures to S3-compatible storage, in its own process."""
