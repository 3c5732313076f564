variable "name" {
  type = string
}

variable "cidr_block" {
  type = string
}

variable "allowed_cidrs" {
  type = list(string)
}

variable "azs" {
  type    = list(string)
  default = ["us-east-1a", "us-east-1b"]
}
