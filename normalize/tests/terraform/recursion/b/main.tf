resource "aws_sns_topic" "b" {
  name = "b"
}

module "a" {
  source = "../a"
}
