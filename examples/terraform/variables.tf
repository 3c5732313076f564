variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "environment" {
  type = string
}

variable "admin_cidr" {
  description = "Who may reach the bastion over SSH."
  type        = string
  default     = "10.0.0.0/8"
}

variable "database_public" {
  type    = bool
  default = false
}

variable "bastion_ami" {
  type = string
}

variable "tags" {
  type    = map(string)
  default = { team = "shop" }
}
