variable "aliases" {
  type    = list(string)
  default = []
}

resource "aws_kms_key" "this" {
  enable_key_rotation = true
}

resource "aws_kms_alias" "this" {
  for_each      = toset(var.aliases)
  name          = "alias/${each.value}"
  target_key_id = aws_kms_key.this.key_id
}

output "key_arn" {
  value = aws_kms_key.this.arn
}
