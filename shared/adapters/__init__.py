"""The adapters: the only code that imports boto3. The table's layout and key builders, DynamoDB reads and
transactions, EventBridge, Scheduler, SES and Secrets Manager; every AWS failure becomes a domain error.

May import: the domain. Clients are built lazily, once per process, with standard retries (aws.py).
"""
