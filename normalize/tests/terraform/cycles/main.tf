locals {
  prefix = "${local.name}-x"
  name   = local.prefix
}

module "echo" {
  source = "./echo"
  input  = module.echo.output
}

resource "aws_sqs_queue" "q" {
  name  = local.name
  input = module.echo.output
}
