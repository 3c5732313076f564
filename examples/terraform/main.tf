terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.region
}

locals {
  name = "shop-${var.environment}"
  tags = merge(var.tags, { environment = var.environment })
}

module "network" {
  source = "./modules/network"

  name       = local.name
  cidr_block = "10.20.0.0/16"
  admin_cidr = var.admin_cidr
  tags       = local.tags
}

# Product images, served through the CDN.
resource "aws_s3_bucket" "assets" {
  bucket = "${local.name}-assets"
  tags   = local.tags
}

resource "aws_s3_bucket_acl" "assets" {
  bucket = aws_s3_bucket.assets.id
  acl    = "public-read"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "assets" {
  bucket = aws_s3_bucket.assets.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
  }
}

resource "aws_kms_key" "data" {
  description             = "${local.name} data"
  deletion_window_in_days = 30
}

resource "aws_db_instance" "orders" {
  identifier                  = "${local.name}-orders"
  engine                      = "postgres"
  engine_version              = "16.3"
  instance_class              = "db.t4g.medium"
  allocated_storage           = 50
  username                    = "orders"
  manage_master_user_password = true
  db_subnet_group_name        = module.network.db_subnet_group
  publicly_accessible         = var.database_public
  storage_encrypted           = true
  kms_key_id                  = aws_kms_key.data.arn
  tags                        = local.tags
}

resource "aws_iam_policy" "deploy" {
  name = "${local.name}-deploy"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = "*"
        Resource = "*"
      },
    ]
  })
}

resource "aws_instance" "bastion" {
  ami                    = var.bastion_ami
  instance_type          = "t3.micro"
  subnet_id              = module.network.public_subnet_id
  vpc_security_group_ids = [module.network.admin_security_group_id]

  root_block_device {
    encrypted = true
  }

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "optional"
  }

  tags = local.tags
}
