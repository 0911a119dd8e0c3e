"""familynet's AWS CDK app."""
