variable "replicas" {
  type = number
}

module "queue" {
  source = "./queue"
  count  = var.replicas
  index  = count.index
}

resource "aws_sns_topic_subscription" "first" {
  topic_arn = "arn:aws:sns:us-east-1:123456789012:events"
  protocol  = "sqs"
  endpoint  = module.queue[0].arn
}

output "queues" {
  value = module.queue[*].arn
}
