locals {
  name = "acme-${var.environment}"
  tags = {
    Environment = var.environment
    ManagedBy   = "terraform"
  }
}

module "network" {
  source = "./modules/network"

  name          = local.name
  cidr_block    = "10.20.0.0/16"
  allowed_cidrs = var.allowed_cidrs
}

module "buckets" {
  source   = "./modules/bucket"
  for_each = var.buckets

  name      = "${local.name}-${each.key}"
  versioned     = each.value.versioned
  tags          = local.tags
  force_destroy = null
}

resource "aws_instance" "app" {
  count                  = var.instance_count
  ami                    = "ami-0c55b159cbfafe1f0"
  instance_type          = "t3.micro"
  subnet_id              = module.network.private_subnet_ids[count.index]
  vpc_security_group_ids = [module.network.security_group_id]
  user_data = templatefile("${path.module}/templates/user_data.sh.tftpl", {
    bucket = module.buckets["logs"].bucket_name
    index  = count.index
  })

  metadata_options {
    http_tokens = "required"
  }

  root_block_device {
    encrypted = true
  }
}

resource "aws_iam_policy" "read_logs" {
  name   = "${local.name}-read-logs"
  policy = file("${path.module}/policies/read.json")
}

resource "aws_launch_template" "bastion" {
  name      = "${local.name}-bastion"
  user_data = templatefile("${path.module}/templates/user_data.sh.tftpl", { bucket = "acme-prod-logs", index = 0 })
}

resource "aws_s3_bucket_public_access_block" "assets" {
  bucket                  = module.buckets["assets"].bucket_name
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
