"""The kopf operator (imported as s3gan_operator; the folder is operator/)."""
