resource "aws_s3_bucket" "good" {
  bucket = "good"
}

resource "aws_s3_bucket" "good" {
  bucket = "duplicate"
}

module "gone" {
  source = "./does-not-exist"
}
