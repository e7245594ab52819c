variable "vpc_name" {}

resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
  tags       = { Name = var.vpc_name }
}

resource "aws_flow_log" "main" {
  count  = var.vpc_name == "shop-staging" ? 0 : 1
  vpc_id = aws_vpc.main.id
}

output "vpc_id" { value = aws_vpc.main.id }
