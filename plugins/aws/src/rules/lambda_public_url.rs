//! `aws/lambda-public-url`: function URLs must authenticate their callers.

use palisade_sdk::aws::lambda;
use palisade_sdk::{Report, Resource, Rule, Severity};

pub const RULE: Rule = Rule {
    id: "aws/lambda-public-url",
    title: "Lambda function URL without authentication",
    severity: Severity::High,
    kinds: lambda::URL_KINDS,
    description: "A function URL with auth type `NONE` is an HTTPS endpoint anyone on the \
internet can call: Lambda checks no signature, so the function must authenticate every request \
itself, and each call is billed to the account (a loop of anonymous requests is a denial of \
wallet). With `AWS_IAM`, only signed requests from principals allowed by IAM reach the \
function. This rule judges `aws_lambda_function_url` (Terraform), `AWS::Lambda::Url` and the \
`FunctionUrlConfig` of a SAM `AWS::Serverless::Function`, `Globals` included \
(CloudFormation). It fires when `authorization_type` / `AuthType` is `NONE`, pointing at that \
setting. A URL that is public on purpose (a webhook that checks its own signatures, for \
instance) should get a waiver saying so rather than a different rule. Values not known \
statically are not judged.",
    remediation: "Require IAM authentication and sign the callers' requests (SigV4), or put the \
function behind API Gateway with an authorizer:\n
```hcl
resource \"aws_lambda_function_url\" \"api\" {
  function_name      = aws_lambda_function.api.function_name
  authorization_type = \"AWS_IAM\"
}
```",
    help_uri: Some("https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"),
    tags: &["cwe/306", "network"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let Some(url) = lambda::function_url(resource) else {
        return;
    };
    if url.is_public() == Some(true) {
        report.finding(
            url.auth_type.pointer,
            "the function URL's auth type is `NONE`: anyone on the internet can call it",
        );
    }
}
