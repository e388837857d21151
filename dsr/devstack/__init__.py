"""The embedded dev stack: Kafka launcher, SMTP sink with a web mailbox."""
