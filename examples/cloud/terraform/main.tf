# The shop's AWS account, as the platform team writes it.
variable "env" { default = "prod" }

locals {
  prefix = "shop-${var.env}"
}

module "assets" {
  source = "./modules/bucket"
  name   = "${local.prefix}-assets"
  public = true
}

module "audit" {
  source = "./modules/bucket"
  name   = "${local.prefix}-audit"
  public = false
}

resource "aws_security_group" "bastion" {
  name        = "${local.prefix}-bastion"
  description = "SSH for the on-call engineer"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_db_instance" "orders" {
  identifier              = "${local.prefix}-orders"
  engine                  = "postgres"
  instance_class          = "db.t4g.medium"
  storage_encrypted       = true
  backup_retention_period = 7
  publicly_accessible     = false
}

resource "aws_cloudtrail" "main" {
  name                       = "${local.prefix}-trail"
  s3_bucket_name             = module.audit.name
  is_multi_region_trail      = true
  enable_log_file_validation = false
}
