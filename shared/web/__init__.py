"""The front doors' common parts: request parsing, the one route table, the one mapping from domain errors to HTTP
answers, the one Jinja environment of pages and emails, and queue records.

May import: every layer below (views, service, adapters, domain). Entry points (functions/) build on this.
"""
