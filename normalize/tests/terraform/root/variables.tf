variable "region" {
  type    = string
  default = "us-east-1"
}

variable "environment" {
  type = string
}

variable "buckets" {
  type    = map(object({ versioned = bool }))
  default = {}
}

variable "allowed_cidrs" {
  type    = list(string)
  default = ["10.0.0.0/8"]
}

variable "instance_count" {
  type    = number
  default = 1
}
