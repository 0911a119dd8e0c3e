"""Staff sign-in: a Cognito user pool for the charity's coordinators and managers, the JWT authorizer of the staff
routes, and the managed login the console signs in through (a user-pool domain, an app client with the
authorization code flow and PKCE, no secret).

No self sign-up (staff are invited), MFA with an authenticator app required, strong passwords, recovery by email
only, threat protection. Membership of the `coordinators` (or, for the console, `managers`) group is checked by the
functions (403 without it).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from shared.web.staff import COORDINATORS_GROUP, MANAGERS_GROUP

AUTH_DOMAIN_CONTEXT = "familynet:auth_domain_prefix"
DEFAULT_AUTH_DOMAIN_PREFIX = "familynet-staff"  # unique per region: a deployment names its own
CONSOLE_CALLBACK_PATH = "/staff/callback"
CONSOLE_SIGNED_OUT_PATH = "/staff/signed-out"
API_RESOURCE_SERVER = "familynet-api"
STAFF_SCOPE_NAME = "staff"
STAFF_SCOPE = f"{API_RESOURCE_SERVER}/{STAFF_SCOPE_NAME}"  # what every staff route's authorizer requires
API_CALLBACKS_CONTEXT = "familynet:api_callback_urls"
DEFAULT_API_CALLBACK = "http://localhost:8400/callback"


class StaffAuth(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, public_url: str) -> None:
        """`public_url`: the API's address, where the console's sign-in returns to."""
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        cognito.CfnUserPoolGroup(
            self,
            "Coordinators",
            user_pool_id=self.user_pool.user_pool_id,
            group_name=COORDINATORS_GROUP,
            description="The charity's coordinators: the staff routes and the console",
        )
        cognito.CfnUserPoolGroup(
            self,
            "Managers",
            user_pool_id=self.user_pool.user_pool_id,
            group_name=MANAGERS_GROUP,
            description="The charity's and the council's managers: the console, approvals, reports, privacy actions",
        )
        # The JSON API takes access tokens carrying this resource server's scope (an ID token is refused by the
        # authorizer: it has no scope).
        self.resource_server = self.user_pool.add_resource_server(
            "Api",
            identifier=API_RESOURCE_SERVER,
            user_pool_resource_server_name="familynet staff API",
            scopes=[cognito.ResourceServerScope(scope_name=STAFF_SCOPE_NAME, scope_description="The staff routes")],
        )
        staff_scope = cognito.OAuthScope.custom(STAFF_SCOPE)  # literal, as the routes name it (the client below
        # depends on the resource server, so the scope exists when the client is made)
        # API clients (a coordinator's tool): the authorization code flow with PKCE only, returning to a loopback
        # address on the person's own machine (RFC 8252), or the addresses this deployment names.
        callbacks = self.node.try_get_context(API_CALLBACKS_CONTEXT) or [DEFAULT_API_CALLBACK]
        self.client = self.user_pool.add_client(
            "CoordinatorApp",
            auth_flows=cognito.AuthFlow(user_srp=True),
            generate_secret=False,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, staff_scope],
                callback_urls=list(callbacks) if isinstance(callbacks, list) else str(callbacks).split(","),
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(12),
            enable_token_revocation=True,
        )
        prefix = str(self.node.try_get_context(AUTH_DOMAIN_CONTEXT) or DEFAULT_AUTH_DOMAIN_PREFIX)
        self.domain = self.user_pool.add_domain(
            "SignIn", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=prefix)
        )
        # The console: a public client (its code runs on the server, but a secret adds nothing PKCE does not), the
        # authorization code flow only, returning to the console's own callback and signed-out pages.
        self.console_client = self.user_pool.add_client(
            "ConsoleApp",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callback_urls=[public_url + CONSOLE_CALLBACK_PATH],
                logout_urls=[public_url + CONSOLE_SIGNED_OUT_PATH],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(12),
            enable_token_revocation=True,
        )
        self.client.node.add_dependency(self.resource_server)
        self.sign_in_url = self.domain.base_url()
        self.issuer = f"https://cognito-idp.{Stack.of(self).region}.amazonaws.com/{self.user_pool.user_pool_id}"
        self.authorizer = authorizers.HttpUserPoolAuthorizer(
            "CoordinatorsAuthorizer", self.user_pool, user_pool_clients=[self.client]
        )
