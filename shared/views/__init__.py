"""The read side: the coordinators' queue, one referral whole, the subject access export, and the read audit that
every staff read of a referral leaves.

May import: the service layer (the shapes of its items), the adapters and the domain. Never HTTP or templates.
"""
