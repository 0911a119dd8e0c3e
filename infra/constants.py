"""Names shared by the stacks, the local runtime and the tests."""

from __future__ import annotations

from shared.web import routes

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
CONSOLE = "console"
REPORTS = "reports"

# Construct ids of the stack's main parts (tests find resources by them).
DATA_ID = "Data"
BUS_ID = "Bus"
API_ID = "Api"

BUS_ARCHIVE_RETENTION_DAYS = 30  # longer than any replay we plan; consumers dedupe for longer than 30 h + this
# Routes come from the one route table (shared/web/routes.py): each function's share of it, by name.
INTAKE_ROUTES = routes.keys(INTAKE)
REFERRALS_ROUTE = routes.BY_KEY["POST /referrals"].key
REFERRALS_RATE_LIMIT = 20  # requests per second, steady
REFERRALS_BURST_LIMIT = 40
FORM_ROUTE = routes.BY_KEY["GET /"].key
FORM_ASSETS_ROUTE = routes.BY_KEY["GET /assets/{file}"].key
FORM_PAGE_ROUTES = tuple(key for key in INTAKE_ROUTES if key not in (REFERRALS_ROUTE, FORM_ROUTE, FORM_ASSETS_ROUTE))
# The coordinators' routes (JWT authorizer; the coordinators group is checked by the function).
STAFF_ROUTES = routes.keys(SCHEDULING, staff=True)
# Partners answer a connection, the lead practitioner agrees a plan, through a signed link (no login): public,
# throttled, small bodies; the paths they start with (each link's purpose) share the edge's rate rule.
CONNECTION_ROUTES = routes.keys(CONNECTIONS, staff=False)
SIGNED_LINK_PATHS = tuple(sorted({"/" + key.split(" ", 1)[1].split("/")[1] + "/" for key in CONNECTION_ROUTES}))
CONNECTIONS_RATE_LIMIT = 5
CONNECTIONS_BURST_LIMIT = 10
# The staff console's pages: a few dozen people, a page and its files at a time.
CONSOLE_ROUTES = routes.keys(CONSOLE)
CONSOLE_RATE_LIMIT = 20
CONSOLE_BURST_LIMIT = 40
FORM_RATE_LIMIT = 50  # a page and its four files per visitor
FORM_BURST_LIMIT = 100

# Operational logs hold ids, states and counts only; three months covers incident investigation.
LOG_RETENTION_NAME = "THREE_MONTHS"

# Per-client limits in AWS (issue 16, item 4): CloudFront and its WAF web ACL in front of the API. A CloudFront web
# ACL (and CloudFront's certificate) must live in us-east-1: a second stack, referenced across regions.
EDGE_STACK_NAME = "FamilynetEdge"
EDGE_REGION = "us-east-1"
DEFAULT_REGION = "eu-west-2"  # London; `-c familynet:region=…` deploys the main stack elsewhere
REGION_CONTEXT = "familynet:region"
CDN_ID = "Cdn"
