"""The service layer: one function per thing a person or an event does (decide, book, record an outcome or a
review, connect a partner, answer a link, send an email once, the daily check), each one transaction.

May import: the adapters and the domain (and the settings and observability modules). Never HTTP or templates:
refusals are domain errors, and a renderer is passed in where an email is sent.
"""
