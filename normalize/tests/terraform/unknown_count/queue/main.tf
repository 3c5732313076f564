variable "index" {
  type = number
}

resource "aws_sqs_queue" "this" {
  name                    = "jobs-${var.index}"
  sqs_managed_sse_enabled = true
}

output "arn" {
  value = aws_sqs_queue.this.arn
}
