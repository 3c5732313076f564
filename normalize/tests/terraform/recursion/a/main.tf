resource "aws_sns_topic" "a" {
  name = "a"
}

module "b" {
  source = "../b"
}
