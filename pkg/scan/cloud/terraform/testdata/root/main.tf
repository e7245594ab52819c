variable "env" {}
variable "admin_cidr" { default = "0.0.0.0/0" }
variable "buckets" { default = ["logs", "assets"] }

locals {
  name   = "shop-${var.env}"
  ports  = [22, 443]
  public = local.name == "shop-prod" ? false : true
}

resource "aws_s3_bucket" "data" {
  for_each = toset(var.buckets)
  bucket   = "${local.name}-${each.key}"
}

# Only the logs bucket is private, through a block that names it.
resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.data["logs"].id
  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.data["logs"].bucket
  versioning_configuration { status = "Enabled" }
}

resource "aws_s3_bucket_policy" "assets" {
  bucket = aws_s3_bucket.data["assets"].id
  policy = jsonencode({
    Statement = [{ Effect = "Allow", Principal = "*", Action = "s3:GetObject", Resource = "${aws_s3_bucket.data["assets"].arn}/*" }]
  })
}

resource "aws_security_group" "web" {
  name = local.name
  dynamic "ingress" {
    for_each = local.ports
    content {
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = [var.admin_cidr]
    }
  }
}

resource "aws_ebs_volume" "disk" {
  count             = 2
  availability_zone = "eu-west-1a"
  encrypted         = count.index == 0
}

resource "aws_db_instance" "db" {
  engine              = "postgres"
  publicly_accessible = local.public
  storage_encrypted   = true
  password            = var.db_password
}

module "net" {
  source   = "./modules/net"
  vpc_name = local.name
}
