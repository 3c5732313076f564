environment     = "staging"
bastion_ami     = "ami-0a1b2c3d4e5f60718"
admin_cidr      = "0.0.0.0/0"
database_public = true
