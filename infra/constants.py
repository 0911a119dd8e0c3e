"""Names shared by the stacks, the local runtime and the tests."""

from __future__ import annotations

STACK_NAME = "Familynet"
PYTHON_VERSION = "3.14"  # the newest Lambda Python runtime aws-cdk-lib 2.275 offers; assets are built for it
LAMBDA_PLATFORM = "aarch64-manylinux2014"

# Context key: "full" bundles the functions' dependencies for Lambda (deployable); "light" skips them (tests).
BUNDLE_CONTEXT = "familynet:bundle"
BUNDLE_FULL = "full"
BUNDLE_LIGHT = "light"

# Functions: the folder under functions/ is the name; the handler is functions.<name>.handler.handler.
INTAKE = "intake"
EVENT_RELAY = "event_relay"
SCHEDULING = "scheduling"
FEEDBACK = "feedback"
REMINDERS = "reminders"
CONNECTIONS = "connections"

# Construct ids of the stack's main parts (tests find resources by them).
DATA_ID = "Data"
BUS_ID = "Bus"
API_ID = "Api"

BUS_ARCHIVE_RETENTION_DAYS = 30  # longer than any replay we plan; consumers dedupe for longer than 30 h + this
REFERRALS_ROUTE = "POST /referrals"
REFERRALS_RATE_LIMIT = 20  # requests per second, steady
REFERRALS_BURST_LIMIT = 40
FORM_ROUTE = "GET /"
FORM_ASSETS_ROUTE = "GET /assets/{file}"
FORM_PAGE_ROUTES = ("GET /privacy", "GET /accessibility")
# The coordinators' routes (JWT authorizer; the coordinators group is checked by the function).
STAFF_ROUTES = (
    "GET /referrals",
    "GET /referrals/{reference}",
    "GET /referrals/{reference}/export",
    "POST /referrals/{reference}/erase",
    "POST /referrals/{reference}/accept",
    "POST /referrals/{reference}/decline",
    "POST /referrals/{reference}/withdraw",
    "GET /facilitators",
    "PUT /facilitators/{facilitator_id}/availability",
    "PUT /referrals/{reference}/meeting",
    "DELETE /referrals/{reference}/meeting",
    "POST /referrals/{reference}/meeting/outcome",
    "GET /partners",
    "POST /partners",
    "PUT /partners/{partner_id}",
    "POST /referrals/{reference}/reviews",
    "PUT /referrals/{reference}/reviews/{number}",
    "POST /referrals/{reference}/connections/{partner_id}",
    "POST /referrals/{reference}/connections/{partner_id}/resend",
)
# Partners answer a connection through a signed link (no login): public, throttled, small bodies.
CONNECTION_ROUTES = ("GET /connections/{token}", "POST /connections/{token}")
CONNECTIONS_RATE_LIMIT = 5
CONNECTIONS_BURST_LIMIT = 10
FORM_RATE_LIMIT = 50  # a page and its four files per visitor
FORM_BURST_LIMIT = 100

# Operational logs hold ids, states and counts only; three months covers incident investigation.
LOG_RETENTION_NAME = "THREE_MONTHS"
