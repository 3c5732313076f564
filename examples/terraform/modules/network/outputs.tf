output "public_subnet_id" {
  value = aws_subnet.public.id
}

output "db_subnet_group" {
  value = aws_db_subnet_group.main.name
}

output "admin_security_group_id" {
  value = aws_security_group.admin.id
}
