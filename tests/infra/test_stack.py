"""The synthesized template: every property the design and the trunk issue ask of the infrastructure."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.constants import (
    CONNECTION_ROUTES,
    CONNECTIONS,
    CONNECTIONS_BURST_LIMIT,
    CONNECTIONS_RATE_LIMIT,
    CONSOLE_RATE_LIMIT,
    CONSOLE_ROUTES,
    FEEDBACK,
    FORM_ASSETS_ROUTE,
    FORM_BURST_LIMIT,
    FORM_PAGE_ROUTES,
    FORM_RATE_LIMIT,
    FORM_ROUTE,
    PYTHON_VERSION,
    REFERRALS_BURST_LIMIT,
    REFERRALS_RATE_LIMIT,
    REFERRALS_ROUTE,
    REMINDERS,
    STAFF_ROUTES,
)
from infra.constructs.api import DEFAULT_ROUTE
from shared.adapters import table as layout


@pytest.fixture(scope="module")
def template(template_body: dict[str, Any]) -> Template:
    return Template.from_json(template_body)


def resources(template_body: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template_body["Resources"].items() if v["Type"] == kind}


def project_functions(template_body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The project's functions: not CDK's deploy-time helper (the cross-region export reader, a Node.js custom
    resource that runs only while CloudFormation deploys)."""
    return {
        logical_id: function
        for logical_id, function in resources(template_body, "AWS::Lambda::Function").items()
        if str(function["Properties"].get("Handler", "")).startswith("functions.")
    }


def test_one_table_on_demand_with_pitr_cmk_ttl_stream_and_the_designs_indexes(template):
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": Match.any_value()},
            "TimeToLiveSpecification": {"AttributeName": layout.TTL_ATTRIBUTE, "Enabled": True},
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
            "KeySchema": [
                {"AttributeName": layout.PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": layout.SORT_KEY, "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": [
                Match.object_like(
                    {
                        "IndexName": name,
                        "KeySchema": [
                            {"AttributeName": pk, "KeyType": "HASH"},
                            {"AttributeName": sk, "KeyType": "RANGE"},
                        ],
                    }
                )
                for name, (pk, sk) in layout.GLOBAL_SECONDARY_INDEXES.items()
            ],
        },
    )


def test_the_tables_key_is_customer_managed_with_rotation(template_body):
    keys = resources(template_body, "AWS::KMS::Key")
    assert all(key["Properties"]["EnableKeyRotation"] is True for key in keys.values())  # the table's, the alarms'
    [table] = resources(template_body, "AWS::DynamoDB::Table").values()
    key_id = table["Properties"]["SSESpecification"]["KMSMasterKeyId"]["Fn::GetAtt"][0]
    assert key_id in keys and "table" in keys[key_id]["Properties"]["Description"]


def test_a_custom_bus_with_an_archive_of_familynet_events(template):
    template.resource_count_is("AWS::Events::EventBus", 1)
    template.has_resource_properties(
        "AWS::Events::Archive",
        {
            "EventPattern": {"source": ["familynet"]},
            "RetentionDays": Match.any_value(),
            "SourceArn": Match.any_value(),
        },
    )


def test_post_referrals_is_throttled_per_route_and_access_logged(template):
    template.has_resource_properties("AWS::ApiGatewayV2::Route", {"RouteKey": REFERRALS_ROUTE})
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "$default",
            "RouteSettings": Match.object_like(
                {
                    REFERRALS_ROUTE: {
                        "ThrottlingRateLimit": REFERRALS_RATE_LIMIT,
                        "ThrottlingBurstLimit": REFERRALS_BURST_LIMIT,
                    }
                }
            ),
            "DefaultRouteSettings": {
                "ThrottlingRateLimit": Match.any_value(),
                "ThrottlingBurstLimit": Match.any_value(),
            },
            "AccessLogSettings": {
                "DestinationArn": Match.any_value(),
                "Format": Match.string_like_regexp("requestId"),
            },
        },
    )


def test_the_web_form_is_served_by_the_intake_function_through_the_api_throttled(template_body):
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in resources(template_body, "AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) == {
        REFERRALS_ROUTE,
        FORM_ROUTE,
        FORM_ASSETS_ROUTE,
        *FORM_PAGE_ROUTES,
        *STAFF_ROUTES,
        *CONNECTION_ROUTES,
        *CONSOLE_ROUTES,
        DEFAULT_ROUTE,  # what no route matches: intake answers 405 with Allow, or 404
    }
    assert len({json.dumps(route["Target"]) for route in routes.values()}) == len(routes)  # one integration each
    public = [REFERRALS_ROUTE, FORM_ROUTE, FORM_ASSETS_ROUTE, *FORM_PAGE_ROUTES, DEFAULT_ROUTE]
    integrations = resources(template_body, "AWS::ApiGatewayV2::Integration")
    uris = {json.dumps(integrations[route_target(routes[key])]["Properties"]["IntegrationUri"]) for key in public}
    assert len(uris) == 1  # one function serves the form and takes referrals
    assert all(routes[key].get("AuthorizationType", "NONE") == "NONE" for key in public)
    [stage] = resources(template_body, "AWS::ApiGatewayV2::Stage").values()
    for route in (FORM_ROUTE, FORM_ASSETS_ROUTE, *FORM_PAGE_ROUTES, DEFAULT_ROUTE):
        assert stage["Properties"]["RouteSettings"][route] == {
            "ThrottlingRateLimit": FORM_RATE_LIMIT,
            "ThrottlingBurstLimit": FORM_BURST_LIMIT,
        }


def test_the_intake_asset_carries_the_forms_templates_and_built_assets(cloud_assembly, template_body):
    from infra.constants import INTAKE

    [intake] = [
        r
        for r in resources(template_body, "AWS::Lambda::Function").values()
        if r["Properties"].get("Handler") == f"functions.{INTAKE}.handler.handler"
    ]
    asset_hash = intake["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    staged = cloud_assembly / f"asset.{asset_hash}" / "web"
    assert (staged / "templates" / "form.html").is_file()
    assert (staged / "assets" / "app.css").is_file()
    assert not (staged / "src").exists()


def route_target(route: dict[str, Any]) -> str:
    """The integration's logical id in `integrations/<id>`."""
    return str(route["Target"]["Fn::Join"][1][1]["Ref"])


def test_every_staff_route_needs_a_token_of_the_staff_user_pool(template_body):
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in resources(template_body, "AWS::ApiGatewayV2::Route").values()
    }
    [(authorizer_id, authorizer)] = resources(template_body, "AWS::ApiGatewayV2::Authorizer").items()
    [pool_id] = resources(template_body, "AWS::Cognito::UserPool")
    [client_id] = [
        logical_id
        for logical_id, client in resources(template_body, "AWS::Cognito::UserPoolClient").items()
        if "CoordinatorApp" in logical_id  # the API's client; the console's (ConsoleApp) signs in by code
    ]
    config = authorizer["Properties"]["JwtConfiguration"]
    assert pool_id in json.dumps(config["Issuer"]) and config["Audience"] == [{"Ref": client_id}]
    for key in STAFF_ROUTES:
        assert routes[key]["AuthorizationType"] == "JWT", key
        assert routes[key]["AuthorizerId"] == {"Ref": authorizer_id}, key
        # an access token with the API's scope: an ID token (no scope) is refused by API Gateway itself
        assert routes[key]["AuthorizationScopes"] == ["familynet-api/staff"], key
    [server] = resources(template_body, "AWS::Cognito::UserPoolResourceServer").values()
    assert server["Properties"]["Identifier"] == "familynet-api"
    assert [s["ScopeName"] for s in server["Properties"]["Scopes"]] == ["staff"]
    api_client = resources(template_body, "AWS::Cognito::UserPoolClient")[client_id]["Properties"]
    assert api_client["AllowedOAuthFlows"] == ["code"]  # no implicit flow
    assert api_client.get("GenerateSecret", False) is False  # PKCE
    assert api_client["CallbackURLs"] == ["http://localhost:8400/callback"]  # a loopback address (RFC 8252)
    assert "familynet-api/staff" in api_client["AllowedOAuthScopes"]


def test_the_console_signs_in_through_a_pool_domain_with_the_code_flow_and_pkce_and_its_own_session(template_body):
    clients = resources(template_body, "AWS::Cognito::UserPoolClient")
    [console] = [c["Properties"] for k, c in clients.items() if "ConsoleApp" in k]
    assert console["AllowedOAuthFlows"] == ["code"] and console["AllowedOAuthFlowsUserPoolClient"] is True
    assert console.get("GenerateSecret", False) is False  # a public client: PKCE, no secret to leak
    assert sorted(console["AllowedOAuthScopes"]) == ["email", "openid", "profile"]
    assert "/staff/callback" in json.dumps(console["CallbackURLs"])
    assert "/staff/signed-out" in json.dumps(console["LogoutURLs"])
    [domain] = resources(template_body, "AWS::Cognito::UserPoolDomain").values()
    assert domain["Properties"]["Domain"] == "familynet-staff"
    groups = {g["Properties"]["GroupName"] for g in resources(template_body, "AWS::Cognito::UserPoolGroup").values()}
    assert groups == {"coordinators", "managers"}
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in resources(template_body, "AWS::ApiGatewayV2::Route").values()
    }
    # the console checks its own session (no JWT authorizer), throttled like the form
    [stage] = resources(template_body, "AWS::ApiGatewayV2::Stage").values()
    for key in CONSOLE_ROUTES:
        assert routes[key].get("AuthorizationType", "NONE") == "NONE", key
        assert stage["Properties"]["RouteSettings"][key]["ThrottlingRateLimit"] == CONSOLE_RATE_LIMIT
    [function] = [
        f for k, f in resources(template_body, "AWS::Lambda::Function").items() if k.startswith("ConsoleFunction")
    ]
    variables = function["Properties"]["Environment"]["Variables"]
    assert {"STAFF_AUTH_URL", "STAFF_ISSUER", "STAFF_CLIENT_ID", "PUBLIC_URL", "TABLE_NAME"} <= set(variables)


def test_coordinators_are_invited_and_sign_in_with_mfa_and_strong_passwords(template):
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "MfaConfiguration": "ON",
            "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
            "Policies": {"PasswordPolicy": Match.object_like({"MinimumLength": 14, "RequireSymbols": True})},
            "DeletionProtection": "ACTIVE",
        },
    )
    template.has_resource_properties("AWS::Cognito::UserPoolGroup", {"GroupName": "coordinators"})


def test_the_scheduling_function_reads_by_key_and_index_only(template_body):
    statements = [
        statement
        for policy in resources(template_body, "AWS::IAM::Policy").values()
        if "Scheduling" in json.dumps(policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert "dynamodb:Query" in actions and "dynamodb:GetItem" in actions
    assert not {a for a in actions if a.startswith("dynamodb:") and ("Scan" in a or a.endswith("*"))}
    # A transaction's ConditionCheck needs its own permission: a plan checks that the partners it names are active.
    assert "dynamodb:ConditionCheckItem" in actions


def test_access_logs_are_json_without_bodies_or_client_addresses(template_body):
    [stage] = resources(template_body, "AWS::ApiGatewayV2::Stage").values()
    fields = json.loads(stage["Properties"]["AccessLogSettings"]["Format"])
    assert {"requestId", "routeKey", "status"} <= set(fields)
    assert not any("sourceIp" in value or "body" in value for value in fields.values())


def test_every_function_is_arm64_newest_python_traced_with_explicit_memory_timeout_and_retained_logs(
    template_body,
):
    functions = project_functions(template_body)
    log_groups = resources(template_body, "AWS::Logs::LogGroup")
    assert len(functions) == len(resources(template_body, "AWS::Lambda::Function")) - 1  # and CDK's one helper
    for logical_id, function in functions.items():
        props = function["Properties"]
        assert props["Architectures"] == ["arm64"], logical_id
        assert props["Runtime"] == f"python{PYTHON_VERSION}", logical_id
        assert props["TracingConfig"] == {"Mode": "Active"}, logical_id
        assert isinstance(props["MemorySize"], int) and isinstance(props["Timeout"], int), logical_id
        log_group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert log_groups[log_group]["Properties"]["RetentionInDays"] == 90, logical_id


def test_the_pinned_runtime_is_the_newest_python_cdk_offers():
    from aws_cdk import aws_lambda

    newest = max(
        (name for name in dir(aws_lambda.Runtime) if name.startswith("PYTHON_3_")),
        key=lambda name: int(name.rsplit("_", 1)[1]),
    )
    assert newest == "PYTHON_" + PYTHON_VERSION.replace(".", "_")


def test_every_log_group_has_a_retention(template_body):
    for logical_id, group in resources(template_body, "AWS::Logs::LogGroup").items():
        assert group["Properties"].get("RetentionInDays"), logical_id


def test_intake_may_only_put_update_condition_check_and_get_on_the_table(template_body):
    policies = resources(template_body, "AWS::IAM::Policy")
    [intake_policy] = [p for k, p in policies.items() if k.startswith("IntakeService")]
    statements = intake_policy["Properties"]["PolicyDocument"]["Statement"]
    dynamo = [s for s in statements if any(str(a).startswith("dynamodb:") for a in _actions(s))]
    assert [sorted(_actions(s)) for s in dynamo] == [
        ["dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    ]
    kms = [s for s in statements if any(str(a).startswith("kms:") for a in _actions(s))]
    assert all("*" not in a for s in kms for a in _actions(s))
    assert all("kms:ViaService" in s["Condition"]["StringEquals"] for s in kms)


def test_no_function_may_scan_the_table(template_body):
    for policy in resources(template_body, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert not any(a in ("dynamodb:Scan", "dynamodb:*") for a in _actions(statement))


def test_the_relay_reads_only_new_outbox_items_with_retries_bisection_and_a_dlq(template):
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [Match.any_value(), "StreamArn"]},
            "StartingPosition": "TRIM_HORIZON",
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": Match.any_value(),
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}},
            "FilterCriteria": {
                "Filters": [
                    {
                        "Pattern": json.dumps(
                            {
                                "eventName": ["INSERT"],
                                "dynamodb": {"NewImage": {"kind": {"S": ["outbox_event"]}}},
                            },
                            separators=(",", ":"),
                        )
                    }
                ]
            },
        },
    )


def test_queues_are_encrypted_and_refuse_plain_http(template_body):
    queues = resources(template_body, "AWS::SQS::Queue")
    assert queues
    for queue in queues.values():
        assert queue["Properties"].get("SqsManagedSseEnabled") or queue["Properties"].get("KmsMasterKeyId")
    policies = resources(template_body, "AWS::SQS::QueuePolicy").values()
    denies = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert {d["Condition"]["Bool"]["aws:SecureTransport"] for d in denies} == {"false"}
    assert len(denies) == len(queues)


def test_the_stack_is_account_agnostic(template_body):
    # Its region is explicit (cross-region references to the edge stack need it: tests/infra/test_checks.py).
    assert "123456789012" not in json.dumps(template_body)


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def _logical_id_of_function(template_body: dict[str, Any], name: str) -> str:
    [found] = [
        logical_id
        for logical_id, function in resources(template_body, "AWS::Lambda::Function").items()
        if function["Properties"]["Handler"] == f"functions.{name}.handler.handler"
    ]
    return found


def test_the_daily_check_runs_at_seven_london_time_on_the_reminders_function_with_retries_and_a_dlq(template_body):
    reminders = _logical_id_of_function(template_body, REMINDERS)
    [daily] = [
        s["Properties"]
        for s in resources(template_body, "AWS::Scheduler::Schedule").values()
        if s["Properties"]["ScheduleExpression"].startswith("cron(")
    ]
    assert daily["ScheduleExpression"] == "cron(0 7 * * ? *)"
    assert daily["ScheduleExpressionTimezone"] == "Europe/London"
    target = daily["Target"]
    assert target["Arn"] == {"Fn::GetAtt": [reminders, "Arn"]}
    assert json.loads(target["Input"]) == {"task": "daily_check"}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert "Arn" in target["DeadLetterConfig"]
    # The role Scheduler assumes may invoke that function and nothing else of Lambda's.
    role = target["RoleArn"]["Fn::GetAtt"][0]
    invokes = [
        statement
        for policy in resources(template_body, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "lambda:InvokeFunction" in _actions(statement)
    ]
    assert [s["Resource"] for s in invokes] == [{"Fn::GetAtt": [reminders, "Arn"]}]


def test_the_reminders_function_hears_the_events_that_start_clocks_and_move_reviews(template_body):
    from shared.service.reminders import HANDLED_EVENTS

    patterns = [
        rule["Properties"]["EventPattern"]
        for rule in resources(template_body, "AWS::Events::Rule").values()
        if "EventPattern" in rule["Properties"]
        and "ReviewRescheduled" in rule["Properties"]["EventPattern"].get("detail-type", [])
    ]
    assert [sorted(p["detail-type"]) for p in patterns] == [sorted(m.detail_type for m in HANDLED_EVENTS)]


def test_deadline_targets_come_from_context_and_a_bad_one_fails_the_synth_naming_it():
    from infra.constructs.reminders import deadline_environment

    defaults = deadline_environment(None)
    assert defaults["DECISION_WORKING_DAYS"] == "2" and defaults["MEETING_TARGET_WORKING_DAYS"] == "20"
    assert deadline_environment('{"decision": 3}')["DECISION_WORKING_DAYS"] == "3"
    with pytest.raises(ValueError, match="decision_working_days"):
        deadline_environment({"decision": 0})
    with pytest.raises(ValueError, match="takes an object with the keys"):
        deadline_environment({"acknowledge": 1})


def test_each_council_sets_its_retention_rule_in_context_and_a_bad_one_fails_the_synth_naming_it():
    from infra.constructs.reminders import RETENTION_CONTEXT, RETENTION_SETTINGS, settings_environment

    def environment(context: object) -> dict[str, str]:
        return settings_environment(context, RETENTION_SETTINGS, RETENTION_CONTEXT)

    assert environment(None)["RETENTION_UNTIL_AGE"] == "25" and environment(None)["RETENTION_CLOSED_YEARS"] == "6"
    assert environment('{"until_age": 21, "closed_years": 7}')["RETENTION_UNTIL_AGE"] == "21"
    with pytest.raises(ValueError, match="retention_until_age"):
        environment({"until_age": 200})


def test_who_may_refer_comes_from_context_and_a_bad_domain_fails_the_synth_naming_it(template_body):
    from aws_cdk import App

    from infra.constructs.intake import referrer_environment

    [intake] = [
        r for k, r in resources(template_body, "AWS::Lambda::Function").items() if k.startswith("IntakeService")
    ]
    variables = intake["Properties"]["Environment"]["Variables"]
    assert variables["REFERRER_DOMAINS"] == "gov.uk,nhs.net,nhs.uk,sch.uk,police.uk,council.example.org"
    assert variables["LOCALITY_DOMAINS"] == "council.example.org"
    assert (variables["REFERRER_DAILY_CAP"], variables["SOURCE_DAILY_CAP"]) == ("20", "100")

    given = App(
        context={
            "familynet:referrer_domains": "gov.uk, NHS.net",
            "familynet:locality_domains": ["leeds.gov.uk"],
            "familynet:daily_caps": '{"per_referrer": 5}',
        }
    )
    assert referrer_environment(given) == {
        "REFERRER_DOMAINS": "gov.uk,nhs.net",
        "LOCALITY_DOMAINS": "leeds.gov.uk",
        "REFERRER_DAILY_CAP": "5",
        "SOURCE_DAILY_CAP": "100",
    }
    with pytest.raises(ValueError, match="not a domain name: gmail com"):
        referrer_environment(App(context={"familynet:referrer_domains": "gov.uk,gmail com"}))


def test_spending_rules_come_from_context_to_every_function_that_records_or_decides_a_package(template_body):
    from aws_cdk import App

    from infra.constructs.scheduling import spending_environment

    for prefix in ("SchedulingFunction", "ConsoleFunction"):
        [function] = [r for k, r in resources(template_body, "AWS::Lambda::Function").items() if k.startswith(prefix)]
        variables = function["Properties"]["Environment"]["Variables"]
        assert (variables["PACKAGE_APPROVAL_PENCE"], variables["PACKAGE_APPROVAL_TOTAL_PENCE"]) == ("25000", "100000")
        assert variables["PACKAGE_ELIGIBILITY"] == "lead_practitioner,meeting_held"
    given = App(
        context={
            "familynet:package_approval_pence": 50000,
            "familynet:package_approval_total_pence": "200000",
            "familynet:package_eligibility": "none",
        }
    )
    assert spending_environment(given) == {
        "PACKAGE_APPROVAL_PENCE": "50000",
        "PACKAGE_APPROVAL_TOTAL_PENCE": "200000",
        "PACKAGE_ELIGIBILITY": "none",
    }
    with pytest.raises(ValueError, match="not an eligibility rule: named_practitioner"):
        spending_environment(App(context={"familynet:package_eligibility": "named_practitioner"}))
    with pytest.raises(ValueError, match="package_approval_pence"):
        spending_environment(App(context={"familynet:package_approval_pence": -1}))


def test_the_preparation_checklist_comes_from_context_and_an_unknown_item_fails_the_synth_naming_it(template_body):
    from aws_cdk import App

    from infra.constructs.scheduling import preparation_environment

    functions = resources(template_body, "AWS::Lambda::Function").values()
    variables = [f["Properties"].get("Environment", {}).get("Variables", {}) for f in functions]
    given = [v["PREPARATION_CHECKLIST"] for v in variables if "PREPARATION_CHECKLIST" in v]
    assert given == ["family_agreed,network_identified,child_views_sought"] * 2  # the API's and the console's
    checklist = "familynet:preparation_checklist"
    assert preparation_environment(App(context={checklist: ["venue_agreed", "family_agreed"]})) == {
        "PREPARATION_CHECKLIST": "family_agreed,venue_agreed"  # in the catalogue's order
    }
    assert preparation_environment(App(context={checklist: []})) == {"PREPARATION_CHECKLIST": "none"}
    with pytest.raises(ValueError, match="familynet:preparation_checklist: not a checklist item: tea_made"):
        preparation_environment(App(context={checklist: "family_agreed,tea_made"}))


def _get_att_ids(value: Any) -> set[str]:
    """Logical ids of every Fn::GetAtt …Arn inside a template value."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Fn::GetAtt" in value and value["Fn::GetAtt"][1] == "Arn":
            found.add(value["Fn::GetAtt"][0])
        for inner in value.values():
            found |= _get_att_ids(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _get_att_ids(inner)
    return found


def dead_letter_queues(template_body: dict[str, Any]) -> set[str]:
    """Every queue something sends its failures to: a queue's redrive policy, a stream mapping's on-failure
    destination, a schedule's or a rule target's dead-letter config, or a function told of one (REMINDERS_DLQ_ARN)."""
    places: list[Any] = []
    for resource in template_body["Resources"].values():
        props, kind = resource.get("Properties", {}), resource["Type"]
        if kind == "AWS::SQS::Queue":
            places.append(props.get("RedrivePolicy", {}).get("deadLetterTargetArn"))
        elif kind == "AWS::Lambda::EventSourceMapping":
            places.append(props.get("DestinationConfig"))
        elif kind == "AWS::Scheduler::Schedule":
            places.append(props["Target"].get("DeadLetterConfig"))
        elif kind == "AWS::Events::Rule":
            places += [target.get("DeadLetterConfig") for target in props.get("Targets", [])]
        elif kind == "AWS::Lambda::Function":
            variables = props.get("Environment", {}).get("Variables", {})
            places += [value for key, value in variables.items() if key.endswith("DLQ_ARN")]
        elif kind == "AWS::Lambda::EventInvokeConfig":
            places.append(props.get("DestinationConfig"))
    queues = set(resources(template_body, "AWS::SQS::Queue"))
    return {found for place in places for found in _get_att_ids(place)} & queues


def alarms_on(template_body: dict[str, Any], metric: str, dimension: str) -> dict[str, dict[str, Any]]:
    """Alarms of `metric`, by the logical id their dimension `dimension` points at."""
    found = {}
    for alarm in resources(template_body, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if props.get("MetricName") != metric:
            continue
        for item in props.get("Dimensions", []):
            if item["Name"] == dimension:
                value = item["Value"]
                found[value.get("Ref") or value.get("Fn::GetAtt", [None])[0]] = props
    return found


def test_every_dead_letter_queue_has_an_alarm_to_the_operations_topic(template_body):
    dlqs = dead_letter_queues(template_body)
    assert len(dlqs) >= 5  # a consumer's each (scheduling, feedback, reminders), the relay's, the schedules'
    alarms = alarms_on(template_body, "ApproximateNumberOfMessagesVisible", "QueueName")
    missing = sorted(dlqs - set(alarms))
    assert missing == [], f"dead-letter queues without an alarm: {missing}"
    [topic] = resources(template_body, "AWS::SNS::Topic")
    for queue in dlqs:
        props = alarms[queue]
        assert (props["Threshold"], props["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
        assert props["AlarmActions"] == [{"Ref": topic}]


def test_every_function_has_an_error_alarm_and_every_consumer_queue_an_age_alarm(template_body):
    functions = set(project_functions(template_body))
    assert functions <= set(alarms_on(template_body, "Errors", "FunctionName"))
    consumer_queues = {
        _get_att_ids(mapping["Properties"]["EventSourceArn"]).pop()
        for mapping in resources(template_body, "AWS::Lambda::EventSourceMapping").values()
        if "sqs" in json.dumps(mapping["Properties"]["EventSourceArn"]).lower()
        or _get_att_ids(mapping["Properties"]["EventSourceArn"]) & set(resources(template_body, "AWS::SQS::Queue"))
    }
    ages = alarms_on(template_body, "ApproximateAgeOfOldestMessage", "QueueName")
    assert consumer_queues and consumer_queues <= set(ages)
    assert {ages[q]["Threshold"] for q in consumer_queues} == {900}


def test_the_api_the_emails_and_the_deadlines_have_alarms_and_the_topic_is_encrypted(template_body):
    alarms = [a["Properties"] for a in resources(template_body, "AWS::CloudWatch::Alarm").values()]
    by_metric = {(a.get("Namespace"), a.get("MetricName")): a for a in alarms}
    assert by_metric[("AWS/ApiGateway", "5xx")]["Threshold"] == 1
    assert by_metric[("AWS/SES", "Reputation.BounceRate")]["Threshold"] == 0.02
    breach = by_metric[("Familynet", "DeadlinesBreached")]
    assert breach["Dimensions"] == [{"Name": "service", "Value": "reminders"}]
    [topic] = resources(template_body, "AWS::SNS::Topic").values()
    assert "KmsMasterKeyId" in topic["Properties"]
    [subscription] = resources(template_body, "AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"


def test_the_dashboard_shows_business_metrics_beside_functions_queues_api_and_ses(template_body):
    [dashboard] = resources(template_body, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "ReferralsReceived",
        "ReferralsAccepted",
        "MeetingsHeld",
        "EmailsSent",
        "ReviewsOverdue",
        "DeadlinesBreached",
        "Errors",
        "Throttles",
        "p95",
        "ApproximateAgeOfOldestMessage",
        "ApproximateNumberOfMessagesVisible",
        "4xx",
        "5xx",
        "Latency",
        "Reputation.BounceRate",
        "Reputation.ComplaintRate",
    ):
        assert metric in body, metric


# --- partners' connections: the link key, the connections function, its public routes ---------------------------------


def _policy_statements_of(template_body: dict[str, Any], function_logical_id: str) -> list[dict[str, Any]]:
    """Every statement of the identity policies attached to a function's role."""
    function = template_body["Resources"][function_logical_id]["Properties"]
    role = function["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in resources(template_body, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _resources_of(statement: dict[str, Any]) -> list[Any]:
    found = statement["Resource"]
    return found if isinstance(found, list) else [found]


def _link_key(template_body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    [(logical_id, secret)] = [
        (logical_id, secret)
        for logical_id, secret in resources(template_body, "AWS::SecretsManager::Secret").items()
        if "link" in secret["Properties"]["Description"]
    ]
    return logical_id, secret


def test_the_link_key_is_one_generated_secret_encrypted_with_the_tables_key(template_body):
    _, secret = _link_key(template_body)
    [table] = resources(template_body, "AWS::DynamoDB::Table").values()
    assert secret["Properties"]["KmsKeyId"] == table["Properties"]["SSESpecification"]["KMSMasterKeyId"]
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["PasswordLength"] == 64 and generated["ExcludePunctuation"] is True
    assert "SecretString" not in secret["Properties"]  # the value never appears in the template
    assert secret["DeletionPolicy"] == "Delete"  # it guards links that expire within weeks


def test_the_connections_function_reads_and_writes_by_key_never_scans_or_deletes(template_body):
    connections = _logical_id_of_function(template_body, CONNECTIONS)
    statements = _policy_statements_of(template_body, connections)
    dynamo = [s for s in statements if any(a.startswith("dynamodb:") for a in _actions(s))]
    assert sorted(a for s in dynamo for a in _actions(s)) == [
        "dynamodb:ConditionCheckItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ]
    [table] = resources(template_body, "AWS::DynamoDB::Table")
    assert [r for s in dynamo for r in _resources_of(s)] == [{"Fn::GetAtt": [table, "Arn"]}] * 2  # no index/*, no *
    # a plan's agreement reads the one case it changes: a Query of referral partitions only
    [query] = [s for s in dynamo if "dynamodb:Query" in _actions(s)]
    assert _actions(query) == ["dynamodb:Query"]
    assert query["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["REFERRAL#*"]}}
    kms = [s for s in statements if any(a.startswith("kms:") for a in _actions(s))]
    assert kms and all("*" not in a for s in kms for a in _actions(s))
    assert all(
        r != "*"
        for s in statements
        if s not in kms and "xray:PutTraceSegments" not in _actions(s)
        for r in _resources_of(s)
    )
    props = template_body["Resources"][connections]["Properties"]
    assert 256 <= props["MemorySize"] <= 512 and props["Timeout"] == 10


def test_the_connection_routes_are_public_throttled_and_served_by_the_connections_function(template_body):
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in resources(template_body, "AWS::ApiGatewayV2::Route").values()
    }
    integrations = resources(template_body, "AWS::ApiGatewayV2::Integration")
    connections = _logical_id_of_function(template_body, CONNECTIONS)
    [stage] = resources(template_body, "AWS::ApiGatewayV2::Stage").values()
    for key in CONNECTION_ROUTES:
        assert routes[key].get("AuthorizationType", "NONE") == "NONE" and "AuthorizerId" not in routes[key], key
        uri = integrations[route_target(routes[key])]["Properties"]["IntegrationUri"]
        assert _get_att_ids(uri) == {connections}, key
        assert stage["Properties"]["RouteSettings"][key] == {
            "ThrottlingRateLimit": CONNECTIONS_RATE_LIMIT,
            "ThrottlingBurstLimit": CONNECTIONS_BURST_LIMIT,
        }


def test_feedback_signs_and_connections_verifies_with_the_link_key_they_may_read(template_body):
    secret, _ = _link_key(template_body)
    [key] = [
        logical_id
        for logical_id, k in resources(template_body, "AWS::KMS::Key").items()
        if "table" in k["Properties"]["Description"]
    ]
    key_policy = template_body["Resources"][key]["Properties"]["KeyPolicy"]["Statement"]
    for name in (FEEDBACK, CONNECTIONS):
        function = _logical_id_of_function(template_body, name)
        props = template_body["Resources"][function]["Properties"]
        assert props["Environment"]["Variables"]["LINK_KEY_SECRET_ARN"] == {"Ref": secret}, name
        reads = [
            s for s in _policy_statements_of(template_body, function) if "secretsmanager:GetSecretValue" in _actions(s)
        ]
        assert [_resources_of(s) for s in reads] == [[{"Ref": secret}]], name
        # The secret's key decrypts for this role through Secrets Manager only.
        role = props["Role"]["Fn::GetAtt"][0]
        [decrypt] = [s for s in key_policy if s["Principal"].get("AWS") == {"Fn::GetAtt": [role, "Arn"]}]
        assert _actions(decrypt) == ["kms:Decrypt"], name
        assert "secretsmanager." in json.dumps(decrypt["Condition"]["StringEquals"]["kms:ViaService"]), name


def test_links_in_emails_use_the_apis_custom_domain_which_cloudfront_serves(template_body):
    [domain] = resources(template_body, "AWS::ApiGatewayV2::DomainName")
    feedback = _logical_id_of_function(template_body, FEEDBACK)
    variables = template_body["Resources"][feedback]["Properties"]["Environment"]["Variables"]
    assert variables["PUBLIC_URL"] == {"Fn::Join": ["", ["https://", {"Ref": domain}]]}
    [distribution] = resources(template_body, "AWS::CloudFront::Distribution").values()
    name = template_body["Resources"][domain]["Properties"]["DomainName"]
    assert distribution["Properties"]["DistributionConfig"]["Aliases"] == [name] == ["familynet.example.org"]


def _public_url_with(context: dict[str, Any]) -> Any:
    from aws_cdk import App, Stack
    from aws_cdk.aws_apigatewayv2 import CfnDomainName

    from infra.constructs.api import Api

    stack = Stack(App(context=context), "PublicUrl")
    api = Api(stack, "Api")
    [domain] = [c for c in stack.node.find_all() if isinstance(c, CfnDomainName)]
    assert domain.domain_name == api.domain  # the API's custom domain is the public name
    return f"https://{api.domain}"


def test_a_custom_domain_from_context_is_the_public_url():
    from infra.constructs.api import PUBLIC_URL_CONTEXT

    assert _public_url_with({PUBLIC_URL_CONTEXT: "https://families.example.gov.uk/"}) == (
        "https://families.example.gov.uk"
    )


@pytest.mark.parametrize(
    "given",
    [
        "http://families.example.gov.uk",
        "families.example.gov.uk",
        "https://a b",
        "https://families.example.gov.uk/referrals",  # CloudFront's alias is a name, not an address with a path
        "https://families.example.gov.uk:8443",
    ],
)
def test_a_public_url_that_is_not_an_https_address_fails_the_synth_naming_the_setting(given):
    from infra.constructs.api import PUBLIC_URL_CONTEXT

    with pytest.raises(ValueError, match=PUBLIC_URL_CONTEXT):
        _public_url_with({PUBLIC_URL_CONTEXT: given})
