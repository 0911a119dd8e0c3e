"""Staff sign-in: a Cognito user pool for the charity's coordinators, and the JWT authorizer of the staff routes.

No self sign-up (coordinators are invited), MFA with an authenticator app required, strong passwords, recovery by
email only, threat protection. Membership of the `coordinators` group is checked by the functions (403 without it).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from shared.web.staff import COORDINATORS_GROUP


class StaffAuth(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
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
            description="The charity's coordinators: the staff routes",
        )
        self.client = self.user_pool.add_client(
            "CoordinatorApp",
            auth_flows=cognito.AuthFlow(user_srp=True),
            prevent_user_existence_errors=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(12),
            enable_token_revocation=True,
        )
        self.authorizer = authorizers.HttpUserPoolAuthorizer(
            "CoordinatorsAuthorizer", self.user_pool, user_pool_clients=[self.client]
        )
