#!/usr/bin/env python3
"""Writes a realistic Terraform tree for benchmarks: N root modules of 10 files each.

Usage: terraform_tree.py OUT_DIR [--files 2000]

Each root module is what a service team keeps: providers and variables, a tfvars file, locals,
S3 buckets with their separate v4 resources, IAM policies (jsonencode and policy documents),
a VPC with security groups, a database, instances, KMS, CloudTrail, and a call to a shared local
module. About one resource in five is misconfigured, so scanners have findings to report. The
output is deterministic (a fixed seed), so runs compare like with like.
"""

import os
import random
import sys

FILES_PER_ROOT = 10


def shared_module(out):
    d = os.path.join(out, "modules", "bucket")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "main.tf"), "w") as f:
        f.write('''variable "name" {
  type = string
}

variable "versioned" {
  type    = bool
  default = true
}

resource "aws_s3_bucket" "this" {
  bucket = var.name
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = var.versioned ? "Enabled" : "Suspended"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

output "id" {
  value = aws_s3_bucket.this.id
}
''')


def root(out, index, rng):
    d = os.path.join(out, "services", f"svc{index:04d}")
    os.makedirs(d, exist_ok=True)
    name = f"svc{index:04d}"
    bad = lambda: rng.random() < 0.2  # noqa: E731
    files = {}
    files["versions.tf"] = '''terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.40"
    }
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = local.tags
  }
}
'''
    files["variables.tf"] = f'''variable "region" {{
  type    = string
  default = "eu-west-1"
}}

variable "environment" {{
  type    = string
  default = "dev"
}}

variable "admin_cidr" {{
  type    = string
  default = "10.0.0.0/8"
}}

variable "instance_count" {{
  type    = number
  default = {rng.randint(1, 3)}
}}

variable "extra_tags" {{
  type    = map(string)
  default = {{ cost_center = "{rng.randint(1000, 9999)}" }}
}}
'''
    files["terraform.tfvars"] = f'''environment = "{rng.choice(["dev", "staging", "prod"])}"
admin_cidr  = "{"0.0.0.0/0" if bad() else "10.20.0.0/16"}"
'''
    files["locals.tf"] = f'''locals {{
  name   = "{name}-${{var.environment}}"
  tags   = merge(var.extra_tags, {{ service = "{name}", environment = var.environment }})
  ports  = [443, 8443]
  queues = toset(["orders", "payments", "emails"])
}}
'''
    files["storage.tf"] = f'''resource "aws_s3_bucket" "data" {{
  bucket = "${{local.name}}-data"
}}

resource "aws_s3_bucket_acl" "data" {{
  bucket = aws_s3_bucket.data.id
  acl    = "{"public-read" if bad() else "private"}"
}}

resource "aws_s3_bucket_versioning" "data" {{
  bucket = aws_s3_bucket.data.id
  versioning_configuration {{
    status = "{"Suspended" if bad() else "Enabled"}"
  }}
}}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {{
  bucket = aws_s3_bucket.data.id
  rule {{
    apply_server_side_encryption_by_default {{
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }}
  }}
}}

resource "aws_s3_bucket_public_access_block" "data" {{
  bucket                  = aws_s3_bucket.data.id
  block_public_acls       = true
  block_public_policy     = {"false" if bad() else "true"}
  ignore_public_acls      = true
  restrict_public_buckets = true
}}

resource "aws_s3_bucket_logging" "data" {{
  bucket        = aws_s3_bucket.data.id
  target_bucket = module.logs.id
  target_prefix = "data/"
}}

module "logs" {{
  source = "../../modules/bucket"
  name   = "${{local.name}}-logs"
}}
'''
    files["iam.tf"] = f'''data "aws_iam_policy_document" "app" {{
  statement {{
    sid       = "ReadData"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = [aws_s3_bucket.data.arn, "${{aws_s3_bucket.data.arn}}/*"]
  }}
}}

resource "aws_iam_role" "app" {{
  name = "${{local.name}}-app"
  assume_role_policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Effect    = "Allow"
      Principal = {{ Service = "ec2.amazonaws.com" }}
      Action    = "sts:AssumeRole"
    }}]
  }})
}}

resource "aws_iam_role_policy" "app" {{
  role   = aws_iam_role.app.id
  policy = data.aws_iam_policy_document.app.json
}}

resource "aws_iam_policy" "ops" {{
  name = "${{local.name}}-ops"
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Effect   = "Allow"
      Action   = "{"*" if bad() else "ec2:Describe*"}"
      Resource = "*"
    }}]
  }})
}}
'''
    files["network.tf"] = f'''resource "aws_vpc" "main" {{
  cidr_block           = "10.{index % 250}.0.0/16"
  enable_dns_hostnames = true
}}

resource "aws_subnet" "private" {{
  count      = 2
  vpc_id     = aws_vpc.main.id
  cidr_block = cidrsubnet(aws_vpc.main.cidr_block, 8, count.index)
}}

resource "aws_security_group" "app" {{
  name   = "${{local.name}}-app"
  vpc_id = aws_vpc.main.id

  dynamic "ingress" {{
    for_each = local.ports
    content {{
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = ["10.0.0.0/8"]
    }}
  }}

  ingress {{
    description = "SSH"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [var.admin_cidr]
  }}

  egress {{
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }}
}}

resource "aws_vpc_security_group_ingress_rule" "db" {{
  security_group_id = aws_security_group.app.id
  cidr_ipv4         = "{"0.0.0.0/0" if bad() else "10.0.0.0/8"}"
  from_port         = 5432
  to_port           = 5432
  ip_protocol       = "tcp"
}}
'''
    files["database.tf"] = f'''resource "aws_db_instance" "main" {{
  identifier                  = "${{local.name}}-db"
  engine                      = "postgres"
  engine_version              = "16.3"
  instance_class              = "db.t4g.micro"
  allocated_storage           = 20
  username                    = "app"
  manage_master_user_password = true
  publicly_accessible         = {"true" if bad() else "false"}
  storage_encrypted           = {"false" if bad() else "true"}
  backup_retention_period     = 7
  tags                        = local.tags
}}
'''
    files["compute.tf"] = f'''resource "aws_instance" "app" {{
  count         = var.instance_count
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.small"
  subnet_id     = aws_subnet.private[count.index % 2].id

  root_block_device {{
    encrypted   = {"false" if bad() else "true"}
    volume_size = 30
  }}

  metadata_options {{
    http_endpoint = "enabled"
    http_tokens   = "{"optional" if bad() else "required"}"
  }}

  tags = merge(local.tags, {{ Name = format("%s-app-%d", local.name, count.index) }})
}}

resource "aws_ebs_volume" "scratch" {{
  availability_zone = "${{var.region}}a"
  size              = 100
  encrypted         = {"false" if bad() else "true"}
}}

resource "aws_sqs_queue" "work" {{
  for_each                = local.queues
  name                    = "${{local.name}}-${{each.key}}"
  sqs_managed_sse_enabled = true
}}
'''
    files["security.tf"] = f'''resource "aws_kms_key" "data" {{
  description             = "${{local.name}} data"
  deletion_window_in_days = 30
  enable_key_rotation     = {"false" if bad() else "true"}
}}

resource "aws_cloudtrail" "main" {{
  name                          = "${{local.name}}-trail"
  s3_bucket_name                = module.logs.id
  include_global_service_events = true
  is_multi_region_trail         = true
  enable_log_file_validation    = {"false" if bad() else "true"}
}}

resource "aws_lambda_function_url" "hook" {{
  function_name      = "${{local.name}}-hook"
  authorization_type = "{"NONE" if bad() else "AWS_IAM"}"
}}
'''
    for file_name, text in files.items():
        with open(os.path.join(d, file_name), "w") as f:
            f.write(text)
    return len(files)


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    out = args[0]
    total = int(args[args.index("--files") + 1]) if "--files" in args else 2000
    rng = random.Random(20261202)
    shared_module(out)
    written = 1
    index = 0
    while written < total:
        written += root(out, index, rng)
        index += 1
    print(f"{written} files in {index} root modules under {out}")


if __name__ == "__main__":
    main()
